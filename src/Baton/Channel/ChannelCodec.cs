using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>Encodings shared by the channel bodies: modes, endpoints, ALPN protocol lists.</summary>
internal static class ChannelCodec
{
    public const int MaxNameBytes = 255;
    public const int MaxAlpnProtocols = 64;

    private const int IPv4EndPointLength = 4 + 2;
    private const int IPv6EndPointLength = 16 + 4 + 2;

    /// <summary>ALPN ids are opaque bytes; Latin-1 maps each byte to one char, so every id round-trips.</summary>
    public static Encoding AlpnEncoding => Encoding.Latin1;

    public static HandoffMode ReadMode(ReadOnlySpan<byte> value, string name) =>
        ChannelBodyReader.ReadByte(value, name) switch
        {
            (byte)HandoffMode.Passthrough => HandoffMode.Passthrough,
            (byte)HandoffMode.Handoff => HandoffMode.Handoff,
            (byte)HandoffMode.Proxy => HandoffMode.Proxy,
            _ => throw ChannelBodyReader.Invalid(name),
        };

    /// <summary>IPv4: address (4) + port u16 LE. IPv6: address (16) + scope id u32 LE + port u16 LE.</summary>
    public static void WriteEndPoint(ref ChannelBodyWriter writer, byte tag, IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[IPv6EndPointLength];
        bool v4 = endPoint.AddressFamily == AddressFamily.InterNetwork;
        if (!v4 && endPoint.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"Unsupported address family {endPoint.AddressFamily}.", nameof(endPoint));
        }
        endPoint.Address.TryWriteBytes(bytes, out int addressLength);
        if (!v4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], (uint)endPoint.Address.ScopeId);
        }
        int length = v4 ? IPv4EndPointLength : IPv6EndPointLength;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[(length - 2)..], (ushort)endPoint.Port);
        writer.WriteField(tag, bytes[..length]);
    }

    public static IPEndPoint ReadEndPoint(ReadOnlySpan<byte> value, string name)
    {
        int port = BinaryPrimitives.ReadUInt16LittleEndian(value.Length switch
        {
            IPv4EndPointLength or IPv6EndPointLength => value[^2..],
            _ => throw ChannelBodyReader.Invalid(name),
        });
        if (value.Length == IPv4EndPointLength)
        {
            return new IPEndPoint(new IPAddress(value[..4]), port);
        }
        uint scope = BinaryPrimitives.ReadUInt32LittleEndian(value[16..]);
        return new IPEndPoint(new IPAddress(value[..16], scope), port);
    }

    public static void WriteAlpnList(ref ChannelBodyWriter writer, byte tag, IReadOnlyList<string> protocols)
    {
        int lengthOffset = writer.BeginField(tag);
        foreach (string protocol in protocols)
        {
            writer.WriteStringItem(protocol, AlpnEncoding);
        }
        writer.EndField(lengthOffset);
    }

    public static string[] ReadAlpnList(ReadOnlySpan<byte> value, string name)
    {
        var protocols = new List<string>();
        var items = new ChannelListReader(value, MaxAlpnProtocols, name);
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
        {
            protocols.Add(ReadAlpn(item, name));
        }
        return protocols.ToArray();
    }

    public static string ReadAlpn(ReadOnlySpan<byte> value, string name)
    {
        ChannelBodyReader.CheckLength(value, 1, MaxNameBytes, name);
        return AlpnEncoding.GetString(value);
    }

    /// <summary>Sender-side checks, so a bad value fails where it was made and not in the worker.</summary>
    public static string? AlpnProblem(IReadOnlyList<string> protocols, string name)
    {
        if (protocols.Count > MaxAlpnProtocols) return $"{name}: more than {MaxAlpnProtocols} protocols";
        foreach (string protocol in protocols)
        {
            if (AlpnProblem(protocol) is string problem) return $"{name}: {problem}";
        }
        return null;
    }

    public static string? AlpnProblem(string protocol) =>
        protocol.Length is 0 or > MaxNameBytes || protocol.Any(c => c > '\u00FF')
            ? $"ALPN id '{protocol}' must be 1..255 bytes" : null;

    public static string? NameProblem(string? value, string name) =>
        value is not null && Encoding.UTF8.GetByteCount(value) is 0 or > MaxNameBytes ? $"{name} must be 1..255 UTF-8 bytes" : null;
}
