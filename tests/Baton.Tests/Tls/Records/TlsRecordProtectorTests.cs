using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

public class TlsRecordProtectorTests
{
    private static readonly byte[] Rfc8448Payload = Enumerable.Range(0, 0x32).Select(i => (byte)i).ToArray();

    // RFC 8448 §3: the client's first application record (client seq 0) and the server's (server seq 1, after a ticket).
    private static readonly byte[] Rfc8448ClientRecord = Hex(
        "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4");
    private static readonly byte[] Rfc8448ServerRecord = Hex(
        "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d");

    [Fact]
    public void OpensAndSealsTheRfc8448ApplicationRecords()
    {
        using TlsSessionState state = TlsSessionState.FromTls13(0x1301, TlsKeyScheduleTests.ClientAppSecret, TlsKeyScheduleTests.ServerAppSecret, 0, 1);
        using var reader = new TlsRecordProtector(state.Suite, encrypt: false, state.ReadKey, state.ReadIv, state.ReadSequence);
        using var writer = new TlsRecordProtector(state.Suite, encrypt: true, state.WriteKey, state.WriteIv, state.WriteSequence);

        byte[] record = (byte[])Rfc8448ClientRecord.Clone();
        Assert.True(reader.TryOpen(record, out TlsContentType type, out int offset, out int length, out _));
        Assert.Equal(TlsContentType.ApplicationData, type);
        Assert.Equal(Rfc8448Payload, record.AsSpan(offset, length).ToArray());
        Assert.Equal(1UL, reader.Sequence);

        byte[] sealedRecord = new byte[Rfc8448Payload.Length + writer.Overhead];
        Assert.Equal(sealedRecord.Length, writer.Seal(TlsContentType.ApplicationData, Rfc8448Payload, sealedRecord));
        Assert.Equal(Rfc8448ServerRecord, sealedRecord);
        Assert.Equal(2UL, writer.Sequence);
    }

    [Fact]
    public void WrongSequenceFailsToOpen()
    {
        using TlsSessionState state = TlsSessionState.FromTls13(0x1301, TlsKeyScheduleTests.ClientAppSecret, TlsKeyScheduleTests.ServerAppSecret, 1, 0);
        using var reader = new TlsRecordProtector(state.Suite, encrypt: false, state.ReadKey, state.ReadIv, state.ReadSequence);
        byte[] record = (byte[])Rfc8448ClientRecord.Clone();
        Assert.False(reader.TryOpen(record, out _, out _, out _, out TlsAlertDescription alert));
        Assert.Equal(TlsAlertDescription.BadRecordMac, alert);
        Assert.Equal(1UL, reader.Sequence);
    }

    public static TheoryData<ushort, int> SuitesAndSizes()
    {
        var data = new TheoryData<ushort, int>();
        foreach (ushort suite in AllSuites)
        {
            foreach (int size in new[] { 0, 1, 100, 16384 }) data.Add(suite, size);
        }
        return data;
    }

    /// <summary>Our EVP sealing, opened by .NET's AEAD with a nonce and AAD built independently here, and the reverse.</summary>
    [Theory]
    [MemberData(nameof(SuitesAndSizes))]
    public void AgreesWithDotNetAead(ushort suite, int size)
    {
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        byte[] key = RandomNumberGenerator.GetBytes(info.KeyLength), iv = RandomNumberGenerator.GetBytes(info.IvLength);
        ulong sequence = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8)) >> 8;
        byte[] content = RandomNumberGenerator.GetBytes(size);
        using var writer = new TlsRecordProtector(info, encrypt: true, key, iv, sequence);
        using var reader = new TlsRecordProtector(info, encrypt: false, key, iv, sequence);

        byte[] record = new byte[size + writer.Overhead];
        writer.Seal(TlsContentType.Handshake, content, record);
        Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(record.AsSpan(3)), record.Length - 5);
        byte[] opened = DotNetOpen(info, key, iv, sequence, record, out byte innerType);
        Assert.Equal(content, opened[..size]);
        Assert.Equal((byte)TlsContentType.Handshake, innerType);

        byte[] mine = DotNetSeal(info, key, iv, sequence, content, (byte)TlsContentType.Handshake);
        Assert.Equal(record, mine);
        Assert.True(reader.TryOpen(mine, out TlsContentType type, out int offset, out int length, out _));
        Assert.Equal(TlsContentType.Handshake, type);
        Assert.Equal(content, mine.AsSpan(offset, length).ToArray());
    }

    /// <summary>A record sealed from a pipe's segments is byte for byte the record sealed from the whole content.</summary>
    [Theory]
    [MemberData(nameof(SuitesAndSizes))]
    public void SealingFromSegmentsEqualsSealingTheWhole(ushort suite, int size)
    {
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        byte[] key = RandomNumberGenerator.GetBytes(info.KeyLength), iv = RandomNumberGenerator.GetBytes(info.IvLength);
        byte[] content = RandomNumberGenerator.GetBytes(size);
        using var whole = new TlsRecordProtector(info, encrypt: true, key, iv, 7);
        byte[] expected = new byte[size + whole.Overhead];
        whole.Seal(TlsContentType.ApplicationData, content, expected);

        // Pieces of 1, 15, 4096 bytes and the rest: block-unaligned boundaries included.
        foreach (int[] cuts in new[] { new[] { 1 }, new[] { 15, 4096 }, new[] { 4096, 8192 } })
        {
            using var pieces = new TlsRecordProtector(info, encrypt: true, key, iv, 7);
            byte[] actual = new byte[size + pieces.Overhead];
            Assert.Equal(actual.Length, pieces.Seal(TlsContentType.ApplicationData, Segments(content, cuts), actual));
            Assert.Equal(expected, actual);
            Assert.Equal(8UL, pieces.Sequence);
        }
    }

    private static ReadOnlySequence<byte> Segments(byte[] content, int[] cuts)
    {
        int[] bounds = [0, .. cuts.Where(cut => cut < content.Length), content.Length];
        var first = new Segment(content.AsMemory(bounds[0], bounds[1] - bounds[0]), 0);
        Segment last = first;
        for (int i = 1; i + 1 < bounds.Length; i++)
            last = last.Append(content.AsMemory(bounds[i], bounds[i + 1] - bounds[i]));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    [Theory]
    [InlineData(0x1301)]
    [InlineData(0xC02F)]
    [InlineData(0xCCA8)]
    public void EveryTamperedByteIsRejected(ushort suite)
    {
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        byte[] key = RandomNumberGenerator.GetBytes(info.KeyLength), iv = RandomNumberGenerator.GetBytes(info.IvLength);
        using var writer = new TlsRecordProtector(info, encrypt: true, key, iv, 5);
        byte[] record = new byte[20 + writer.Overhead];
        writer.Seal(TlsContentType.ApplicationData, RandomNumberGenerator.GetBytes(20), record);
        for (int i = 0; i < record.Length; i++)
        {
            // The length is checked by the framing; TLS 1.2 authenticates a fixed version instead of the header bytes.
            if (i is 3 or 4 || (!info.IsTls13 && i is 1 or 2)) continue;
            using var reader = new TlsRecordProtector(info, encrypt: false, key, iv, 5);
            byte[] tampered = (byte[])record.Clone();
            tampered[i] ^= 0x40;
            Assert.False(reader.TryOpen(tampered, out _, out _, out _, out TlsAlertDescription alert), $"byte {i}");
            Assert.Equal(TlsAlertDescription.BadRecordMac, alert);
        }
    }

    private static byte[] Nonce(TlsCipherSuiteInfo info, byte[] iv, ulong sequence, ReadOnlySpan<byte> explicitNonce)
    {
        if (info.ExplicitNonceLength == 0) return Tls13Nonce(iv, sequence);
        return [.. iv, .. explicitNonce];
    }

    private static byte[] Aad(TlsCipherSuiteInfo info, ulong sequence, byte type, int plaintextLength, ReadOnlySpan<byte> header)
    {
        if (info.IsTls13) return header[..5].ToArray();
        byte[] aad = new byte[13];
        BinaryPrimitives.WriteUInt64BigEndian(aad, sequence);
        aad[8] = type;
        aad[9] = 3;
        aad[10] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(aad.AsSpan(11), (ushort)plaintextLength);
        return aad;
    }

    private static byte[] DotNetOpen(TlsCipherSuiteInfo info, byte[] key, byte[] iv, ulong sequence, byte[] record, out byte innerType)
    {
        int explicitLength = info.ExplicitNonceLength;
        ReadOnlySpan<byte> body = record.AsSpan(5 + explicitLength);
        int length = body.Length - 16;
        byte[] nonce = Nonce(info, iv, sequence, record.AsSpan(5, explicitLength));
        byte[] aad = Aad(info, sequence, record[0], length, record);
        byte[] plaintext = new byte[length];
        Decrypt(info, key, nonce, body[..length], body[length..], plaintext, aad);
        innerType = info.IsTls13 ? plaintext[^1] : record[0];
        return plaintext;
    }

    private static byte[] DotNetSeal(TlsCipherSuiteInfo info, byte[] key, byte[] iv, ulong sequence, byte[] content, byte type)
    {
        byte[] plaintext = info.IsTls13 ? [.. content, type] : content;
        int explicitLength = info.ExplicitNonceLength;
        byte[] record = new byte[5 + explicitLength + plaintext.Length + 16];
        record[0] = info.IsTls13 ? (byte)23 : type;
        record[1] = 3;
        record[2] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)(record.Length - 5));
        byte[] explicitNonce = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(explicitNonce, sequence);
        if (explicitLength != 0) explicitNonce.CopyTo(record, 5);
        byte[] nonce = Nonce(info, iv, sequence, explicitNonce);
        Span<byte> body = record.AsSpan(5 + explicitLength);
        Encrypt(info, key, nonce, plaintext, body[..plaintext.Length], body[plaintext.Length..], Aad(info, sequence, type, content.Length, record));
        return record;
    }

    private static void Encrypt(TlsCipherSuiteInfo info, byte[] key, byte[] nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, byte[] aad)
    {
        if (info.Aead == TlsAead.ChaCha20Poly1305)
        {
            using var chacha = new ChaCha20Poly1305(key);
            chacha.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        }
        else
        {
            using var gcm = new AesGcm(key, 16);
            gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        }
    }

    private static void Decrypt(TlsCipherSuiteInfo info, byte[] key, byte[] nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, byte[] aad)
    {
        if (info.Aead == TlsAead.ChaCha20Poly1305)
        {
            using var chacha = new ChaCha20Poly1305(key);
            chacha.Decrypt(nonce, ciphertext, tag, plaintext, aad);
        }
        else
        {
            using var gcm = new AesGcm(key, 16);
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, aad);
        }
    }
}
