using System.Buffers.Binary;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

public class TlsSessionStateTests
{
    public static TheoryData<ushort> Suites() => new(AllSuites);

    [Theory]
    [MemberData(nameof(Suites))]
    public void RoundTripsEveryField(ushort suite)
    {
        using TlsSessionState state = NewServerState(suite, readSequence: 0x0102030405060708, writeSequence: ulong.MaxValue - 3, maxPlaintext: 2048);
        state.KeyUpdatePending = state.ProtocolVersion == 0x0304;
        byte[] wire = new byte[TlsSessionState.MaxEncodedLength];
        int length = state.Write(wire);
        Assert.Equal(state.EncodedLength, length);
        Assert.True(length <= 216);

        Assert.True(TlsSessionState.TryRead(wire.AsSpan(0, length), out TlsSessionState? copy, out TlsSessionStateError error), error.ToString());
        using (copy)
        {
            Assert.Equal(state.ProtocolVersion, copy!.ProtocolVersion);
            Assert.Equal(suite, copy.CipherSuite);
            Assert.Equal(state.ReadKey, copy.ReadKey);
            Assert.Equal(state.WriteKey, copy.WriteKey);
            Assert.Equal(state.ReadIv, copy.ReadIv);
            Assert.Equal(state.WriteIv, copy.WriteIv);
            Assert.Equal(state.ReadSecret, copy.ReadSecret);
            Assert.Equal(state.WriteSecret, copy.WriteSecret);
            Assert.Equal(state.ReadSequence, copy.ReadSequence);
            Assert.Equal(state.WriteSequence, copy.WriteSequence);
            Assert.Equal(state.KeyUpdatePending, copy.KeyUpdatePending);
            Assert.Equal(2048, copy.MaxPlaintext);
        }
    }

    [Theory]
    [InlineData(0x1302)]
    [InlineData(0xC02B)]
    public void EveryTruncationIsRefused(ushort suite)
    {
        using TlsSessionState state = NewServerState(suite);
        byte[] wire = new byte[state.EncodedLength];
        state.Write(wire);
        for (int length = 0; length < wire.Length; length++)
        {
            Assert.False(TlsSessionState.TryRead(wire.AsSpan(0, length), out TlsSessionState? parsed, out TlsSessionStateError error));
            Assert.Null(parsed);
            Assert.Equal(TlsSessionStateError.Truncated, error);
        }
        Assert.False(TlsSessionState.TryRead([.. wire, 0], out _, out TlsSessionStateError trailing));
        Assert.Equal(TlsSessionStateError.TrailingBytes, trailing);
    }

    [Theory]
    [InlineData(0, 0x00, TlsSessionStateError.BadMagic)]
    [InlineData(4, 0x02, TlsSessionStateError.UnsupportedFormatVersion)]
    [InlineData(5, 0x02, TlsSessionStateError.InvalidFlags)]
    [InlineData(31, 0x01, TlsSessionStateError.InvalidFlags)]
    [InlineData(7, 0x02, TlsSessionStateError.UnsupportedProtocolVersion)]   // 0x0302 (TLS 1.1)
    [InlineData(7, 0x03, TlsSessionStateError.SuiteNotForProtocolVersion)]   // TLS 1.2 with a TLS 1.3 suite
    [InlineData(9, 0x04, TlsSessionStateError.UnsupportedCipherSuite)]       // 0x1304 (AES-CCM)
    [InlineData(11, 0x01, TlsSessionStateError.InvalidMaxPlaintext)]         // 0x4001
    [InlineData(28, 32, TlsSessionStateError.KeyLengthMismatch)]             // AES-128 with a 32-byte key
    [InlineData(29, 4, TlsSessionStateError.IvLengthMismatch)]
    [InlineData(30, 48, TlsSessionStateError.SecretLengthMismatch)]          // SHA-256 suite with SHA-384 secrets
    public void StrictValidation(int offset, byte value, object expected)
    {
        using TlsSessionState state = NewServerState(0x1301);
        byte[] wire = new byte[state.EncodedLength];
        state.Write(wire);
        wire[offset] = value;
        Assert.False(TlsSessionState.TryRead(wire, out TlsSessionState? parsed, out TlsSessionStateError error));
        Assert.Null(parsed);
        Assert.Equal((TlsSessionStateError)expected, error);
    }

    [Fact]
    public void KeyUpdateFlagIsRefusedForTls12()
    {
        using TlsSessionState state = NewServerState(0xC02F);
        byte[] wire = new byte[state.EncodedLength];
        state.Write(wire);
        wire[5] = 1;
        Assert.False(TlsSessionState.TryRead(wire, out _, out TlsSessionStateError error));
        Assert.Equal(TlsSessionStateError.InvalidFlags, error);
        Assert.Throws<InvalidOperationException>(() => state.KeyUpdatePending = true);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(511)]
    [InlineData(16385)]
    [InlineData(3000)]
    public void OddMaxPlaintextIsRefused(int maxPlaintext)
    {
        using TlsSessionState state = NewServerState(0x1303);
        byte[] wire = new byte[state.EncodedLength];
        state.Write(wire);
        BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(10), (ushort)maxPlaintext);
        Assert.False(TlsSessionState.TryRead(wire, out _, out TlsSessionStateError error));
        Assert.Equal(TlsSessionStateError.InvalidMaxPlaintext, error);
    }

    [Fact]
    public void FactoriesRefuseMismatchedMaterial()
    {
        Assert.Throws<ArgumentException>(() => TlsSessionState.FromTls13(0x1302, new byte[32], new byte[32], 0, 0)); // SHA-384 suite
        Assert.Throws<ArgumentException>(() => TlsSessionState.FromTls13(0xC02B, new byte[32], new byte[32], 0, 0)); // TLS 1.2 suite
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsSessionState.FromTls13(0x00FF, new byte[32], new byte[32], 0, 0));
        Assert.Throws<ArgumentException>(() => TlsSessionState.FromTls12(0xC02B, new byte[47], new byte[32], new byte[32], 0, 0));
        Assert.Throws<ArgumentException>(() => TlsSessionState.FromTls12(0x1301, new byte[48], new byte[32], new byte[32], 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsSessionState.FromTls12(0xC02B, new byte[48], new byte[32], new byte[32], 0, 0, maxPlaintext: 100));
    }

    [Theory]
    [InlineData(0x1302)]
    [InlineData(0xCCA9)]
    public void DisposeZeroesEverySecret(ushort suite)
    {
        TlsSessionState state = NewServerState(suite);
        byte[][] secrets = [state.ReadKey, state.WriteKey, state.ReadIv, state.WriteIv, state.ReadSecret, state.WriteSecret];
        Assert.All(secrets.Where(s => s.Length > 0), s => Assert.Contains(s, b => b != 0));
        state.Dispose();
        Assert.All(secrets, s => Assert.All(s, b => Assert.Equal(0, b)));
    }
}
