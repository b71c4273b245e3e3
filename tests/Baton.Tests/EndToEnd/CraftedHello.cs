using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Baton.Tests.Inspection;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// A hand-made client for what real clients never send: a TLS 1.2 ClientHello that Baton's policy (and s_server with
/// it) accepts, padded (RFC 7685) to an exact size and framed in records the test chooses; then it reads the server's
/// plaintext records until the one the test waits for, or the end of the connection.
/// </summary>
internal static class CraftedHello
{
    private const ushort Padding = 21;
    public const ushort ExtendedMasterSecret = 23;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The ClientHello handshake message (its 4-byte header included), padded to <paramref name="length"/> bytes if given.</summary>
    /// <param name="extendedMasterSecret">Offer extended_master_secret (RFC 7627), as every current client does.</param>
    public static byte[] Message(int? length = null, bool extendedMasterSecret = false)
    {
        var builder = new ClientHelloBuilder { CipherSuites = [0xC02B, 0xC02F] };
        builder.Extensions.Add((0, ClientHelloBuilder.ServerName("localhost")));
        builder.Extensions.Add((10, [0x00, 0x04, 0x00, 0x1D, 0x00, 0x17])); // supported_groups: x25519, secp256r1
        builder.Extensions.Add((11, [0x01, 0x00])); // ec_point_formats: uncompressed
        builder.Extensions.Add((13, [0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01])); // signature_algorithms
        if (extendedMasterSecret) builder.Extensions.Add((ExtendedMasterSecret, []));
        if (length is int wanted)
        {
            int unpadded = builder.BuildMessage().Length;
            builder.Extensions.Add((Padding, new byte[wanted - unpadded - 4]));
        }
        byte[] message = builder.BuildMessage();
        Assert.Equal(length ?? message.Length, message.Length);
        return message;
    }

    /// <summary>A record as on the wire (TLS 1.2 record version).</summary>
    public static byte[] Record(byte type, ReadOnlySpan<byte> payload) =>
        [type, 0x03, 0x03, (byte)(payload.Length >> 8), (byte)payload.Length, .. payload];

    public static byte[] Handshake(ReadOnlySpan<byte> payload) => Record(0x16, payload);

    /// <summary>Zero-length application data: legal after the handshake (RFC 8446 5.1), not inside it.</summary>
    public static byte[] EmptyApplicationData => Record(0x17, []);

    public static bool IsAlert((byte Type, byte[] Payload) record) => record.Type == 0x15;

    public static bool IsServerHelloOrAlert((byte Type, byte[] Payload) record) => IsAlert(record) || record is (0x16, [0x02, ..]);

    /// <summary>Sends <paramref name="bytes"/> and returns the server's records up to the first one <paramref name="last"/> accepts, or to the end.</summary>
    public static Task<List<(byte Type, byte[] Payload)>> ExchangeAsync(int port, byte[] bytes, Func<(byte Type, byte[] Payload), bool> last) =>
        ExchangeAsync(port, [bytes], last);

    /// <summary>The same, sending <paramref name="segments"/> one send each (TCP_NODELAY: loopback usually keeps them apart).</summary>
    public static async Task<List<(byte Type, byte[] Payload)>> ExchangeAsync(int port, byte[][] segments, Func<(byte Type, byte[] Payload), bool> last)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        try
        {
            foreach (byte[] segment in segments)
                await socket.SendAsync(segment);
        }
        catch (SocketException)
        {
            // The server may answer and close before the last segment: what it answered is still to be read.
        }
        using var deadline = new CancellationTokenSource(Deadline);
        var records = new List<(byte Type, byte[] Payload)>();
        while (await ReadRecordAsync(socket, deadline.Token) is { } record)
        {
            records.Add(record);
            if (last(record)) break;
        }
        return records;
    }

    /// <summary>
    /// A crafted handshake past the hello: sends <paramref name="hello"/>, reads the server's handshake messages until
    /// one of type <paramref name="until"/> (ServerHelloDone in TLS 1.2, ServerHello in 1.3), sends <paramref name="next"/>
    /// and returns how the server answered it: "alert N" (a plaintext alert) or "closed" (maybe after encrypted records:
    /// a TLS 1.3 server's alert is encrypted).
    /// </summary>
    public static async Task<string> ConverseAsync(int port, byte[] hello, byte until, byte[] next)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(hello);
        using var deadline = new CancellationTokenSource(Deadline);
        var handshake = new List<byte>();
        while (!HasMessage(handshake, until))
        {
            if (await ReadRecordAsync(socket, deadline.Token) is not { } record) return $"closed before message {until}";
            if (record.Type == 0x15) return $"alert {record.Payload[^1]} before message {until}";
            if (record.Type == 0x16) handshake.AddRange(record.Payload);
        }
        await socket.SendAsync(next);
        while (await ReadRecordAsync(socket, deadline.Token) is { } record)
        {
            if (record is (0x15, [_, byte description])) return $"alert {description}";
        }
        return "closed";
    }

    /// <summary>The extension types of a ServerHello (the payload of its handshake record, message header included).</summary>
    public static List<ushort> ServerHelloExtensions(byte[] serverHello)
    {
        int offset = 4 + 2 + 32;
        offset += 1 + serverHello[offset] + 2 + 1; // session id, cipher suite, compression
        var types = new List<ushort>();
        for (offset += 2; offset + 4 <= serverHello.Length; offset += 4 + BinaryPrimitives.ReadUInt16BigEndian(serverHello.AsSpan(offset + 2)))
            types.Add(BinaryPrimitives.ReadUInt16BigEndian(serverHello.AsSpan(offset)));
        return types;
    }

    /// <summary>Whether the handshake bytes so far hold a whole message of <paramref name="type"/>.</summary>
    private static bool HasMessage(List<byte> handshake, byte type)
    {
        for (int offset = 0; offset + 4 <= handshake.Count;)
        {
            int length = (handshake[offset + 1] << 16) | (handshake[offset + 2] << 8) | handshake[offset + 3];
            if (offset + 4 + length > handshake.Count) return false;
            if (handshake[offset] == type) return true;
            offset += 4 + length;
        }
        return false;
    }

    /// <summary>The next record, or null when the server closed (or reset) first.</summary>
    private static async Task<(byte Type, byte[] Payload)?> ReadRecordAsync(Socket socket, CancellationToken cancellationToken)
    {
        byte[] header = new byte[5];
        if (!await ReadExactlyAsync(socket, header, cancellationToken)) return null;
        byte[] payload = new byte[BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3))];
        return await ReadExactlyAsync(socket, payload, cancellationToken) ? (header[0], payload) : null;
    }

    /// <summary>How the server answered a ClientHello: "proceeds" (a ServerHello, or a HelloRetryRequest), "alert N", or "closed" (no answer).</summary>
    public static string Outcome(List<(byte Type, byte[] Payload)> records) => records switch
    {
        [(0x16, [0x02, ..]), ..] => GeneratedHellos.Proceeds,
        [(0x15, [_, byte description]), ..] => $"alert {description}",
        [] => "closed",
        _ => Describe(records),
    };

    /// <summary>The (level, description) of the first alert among <paramref name="records"/>, or null.</summary>
    public static (byte Level, byte Description)? FirstAlert(List<(byte Type, byte[] Payload)> records) =>
        records.FirstOrDefault(r => r.Type == 0x15 && r.Payload.Length == 2) is { Payload: { } alert } ? (alert[0], alert[1]) : null;

    public static string Describe(List<(byte Type, byte[] Payload)> records) =>
        records.Count == 0 ? "nothing" : string.Join(", ", records.Select(r => $"type {r.Type} [{Convert.ToHexString(r.Payload.AsSpan(0, Math.Min(2, r.Payload.Length)))}]"));

    /// <summary>False when the server closed (or reset) before <paramref name="buffer"/> was full.</summary>
    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        for (int read = 0; read < buffer.Length;)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer.AsMemory(read), cancellationToken);
            }
            catch (SocketException)
            {
                return false;
            }
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}
