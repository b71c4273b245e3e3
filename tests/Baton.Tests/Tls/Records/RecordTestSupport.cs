using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Baton.Tests.Tls.Records;

/// <summary>Real TCP loopback connections and mirrored session states for record-layer tests.</summary>
internal static class RecordTestSupport
{
    public static readonly ushort[] AllSuites = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9];

    public static TimeSpan Deadline => TimeSpan.FromSeconds(30);

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "").Replace("\n", ""));

    /// <summary>A connected pair of TCP loopback sockets as streams (server side, client side).</summary>
    public static async Task<(NetworkStream Server, NetworkStream Client)> ConnectAsync()
    {
        var (server, client) = await ConnectSocketsAsync();
        return (new NetworkStream(server, ownsSocket: true), new NetworkStream(client, ownsSocket: true));
    }

    /// <summary>A connected pair of TCP loopback sockets, Nagle off (server side, client side).</summary>
    public static async Task<(Socket Server, Socket Client)> ConnectSocketsAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task connect = client.ConnectAsync(listener.LocalEndPoint!);
        Socket server = await listener.AcceptAsync().WaitAsync(Deadline);
        await connect.WaitAsync(Deadline);
        server.NoDelay = true;
        return (server, client);
    }

    /// <summary>A server state for the suite with random secrets (TLS 1.3) or random master secret and randoms (TLS 1.2).</summary>
    public static TlsSessionState NewServerState(ushort suite, ulong readSequence = 0, ulong writeSequence = 0, int maxPlaintext = 16384)
    {
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        if (info.IsTls13)
        {
            return TlsSessionState.FromTls13(suite, RandomNumberGenerator.GetBytes(info.HashLength),
                RandomNumberGenerator.GetBytes(info.HashLength), readSequence, writeSequence, maxPlaintext: maxPlaintext);
        }
        return TlsSessionState.FromTls12(suite, RandomNumberGenerator.GetBytes(48), RandomNumberGenerator.GetBytes(32),
            RandomNumberGenerator.GetBytes(32), readSequence, writeSequence, maxPlaintext);
    }

    /// <summary>The client's view of the same session: read and write swapped.</summary>
    public static TlsSessionState Mirror(TlsSessionState s, bool keyUpdatePending = false) =>
        TlsSessionState.Create(s.ProtocolVersion, s.CipherSuite,
            readKey: s.WriteKey, readIv: s.WriteIv, writeKey: s.ReadKey, writeIv: s.ReadIv,
            readSecret: s.WriteSecret, writeSecret: s.ReadSecret,
            readSequence: s.WriteSequence, writeSequence: s.ReadSequence, keyUpdatePending, s.MaxPlaintext);

    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Deadline);
        return buffer;
    }

    /// <summary>Reads until the stream returns 0; fails if it does not end before the deadline.</summary>
    public static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(Deadline);
        return all.ToArray();
    }

    /// <summary>
    /// Seals an arbitrary TLS 1.3 inner plaintext (content ‖ type ‖ padding) with .NET's AesGcm, an implementation
    /// independent of the record layer, for records the record layer itself never produces.
    /// </summary>
    public static byte[] SealTls13Aes128(byte[] key, byte[] iv, ulong sequence, ReadOnlySpan<byte> innerPlaintext)
    {
        byte[] record = new byte[5 + innerPlaintext.Length + 16];
        record[0] = 23;
        record[1] = 3;
        record[2] = 3;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)(innerPlaintext.Length + 16));
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(Tls13Nonce(iv, sequence), innerPlaintext, record.AsSpan(5, innerPlaintext.Length),
            record.AsSpan(5 + innerPlaintext.Length), record.AsSpan(0, 5));
        return record;
    }

    public static byte[] Tls13Nonce(byte[] iv, ulong sequence)
    {
        byte[] nonce = (byte[])iv.Clone();
        for (int i = 0; i < 8; i++) nonce[11 - i] ^= (byte)(sequence >> (8 * i));
        return nonce;
    }

    public static byte[] Inner(ReadOnlySpan<byte> content, byte type, int padding = 0)
    {
        byte[] inner = new byte[content.Length + 1 + padding];
        content.CopyTo(inner);
        inner[content.Length] = type;
        return inner;
    }
}

/// <summary>Hands out at most one byte per read: every record arrives split across many reads.</summary>
internal sealed class OneByteReadStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public int Reads { get; private set; }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Reads++;
        return inner.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(1, count));
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
