using System.Text;

namespace Baton.Inspection;

/// <summary>
/// The two extensions routing needs, server_name and ALPN, found in a ClientHello's extension block and read by
/// libssl's own rules (ssl/statem/extensions_srvr.c), so the front refuses exactly the ones libssl refuses, with
/// its alert. Every other extension is only stepped over. The static readers are shared with the handoff front's
/// ClientHello callback, which gets the same extension bodies from libssl.
/// </summary>
internal ref struct ClientHelloExtensions
{
    public const ushort ServerNameType = 0;
    public const ushort AlpnType = 16;
    private const byte HostNameType = 0;
    private const int MaxHostNameLength = 255;
    private const int MaxLabelLength = 63;

    // Well-known ALPN ids map to literals so the common hello allocates no ALPN strings.
    private static readonly string[] s_knownProtocols = ["h2", "http/1.1", "http/1.0", "h3", "acme-tls/1"];

    private ReadOnlySpan<byte> _serverName;
    private ReadOnlySpan<byte> _alpn;
    private bool _hasServerName;
    private bool _hasAlpn;

    /// <summary>
    /// Walks the block as libssl collects it (framing, then no extension it knows twice), then reads server_name and
    /// ALPN, in libssl's order. Unknown extensions, GREASE ones included, may repeat: libssl ignores them.
    /// </summary>
    public ClientHelloError Parse(ReadOnlySpan<byte> block)
    {
        var reader = new BigEndianReader(block);
        while (!reader.IsEmpty)
        {
            if (!reader.TryReadUInt16(out ushort type) || !reader.TryReadVector16(out ReadOnlySpan<byte> body))
            {
                return ClientHelloError.Malformed;
            }
            if (type == ServerNameType)
            {
                if (_hasServerName)
                {
                    return ClientHelloError.DuplicateExtension;
                }
                _hasServerName = true;
                _serverName = body;
            }
            else if (type == AlpnType)
            {
                if (_hasAlpn)
                {
                    return ClientHelloError.DuplicateExtension;
                }
                _hasAlpn = true;
                _alpn = body;
            }
        }

        ClientHelloError error = _hasServerName ? ReadServerName(_serverName, out _serverName) : ClientHelloError.None;
        return error != ClientHelloError.None ? error
            : _hasAlpn ? ReadAlpn(_alpn, out _alpn) : ClientHelloError.None;
    }

    public readonly string? ServerName() => RoutingName(_serverName);

    public readonly string[] ApplicationProtocols() => _hasAlpn ? ProtocolNames(_alpn) : [];

    /// <summary>
    /// server_name's body as libssl reads it: a list holding exactly one host_name entry (libssl knows no other type
    /// and allows one name), the name at most 255 bytes and without a zero byte. An empty name is libssl's to take.
    /// </summary>
    public static ClientHelloError ReadServerName(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> hostName)
    {
        hostName = default;
        var outer = new BigEndianReader(body);
        if (!outer.TryReadVector16(out ReadOnlySpan<byte> list) || !outer.IsEmpty || list.IsEmpty)
        {
            return ClientHelloError.BadServerName;
        }
        var entry = new BigEndianReader(list);
        if (!entry.TryReadByte(out byte nameType) || nameType != HostNameType ||
            !entry.TryReadVector16(out ReadOnlySpan<byte> name) || !entry.IsEmpty)
        {
            return ClientHelloError.BadServerName;
        }
        if (name.Length > MaxHostNameLength || name.Contains((byte)0))
        {
            return ClientHelloError.UnrecognizedServerName;
        }
        hostName = name;
        return ClientHelloError.None;
    }

    /// <summary>ALPN's body as libssl reads it: a non-empty list of non-empty protocol names, nothing after it.</summary>
    public static ClientHelloError ReadAlpn(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> list)
    {
        var outer = new BigEndianReader(body);
        if (!outer.TryReadVector16(out list) || !outer.IsEmpty || list.Length < 2)
        {
            return ClientHelloError.BadAlpn;
        }
        var reader = new BigEndianReader(list);
        while (!reader.IsEmpty)
        {
            if (!reader.TryReadVector8(out ReadOnlySpan<byte> name) || name.IsEmpty)
            {
                return ClientHelloError.BadAlpn;
            }
        }
        return ClientHelloError.None;
    }

    /// <summary>
    /// The name routes match: lowercased, and only when it is an ASCII DNS name (<see cref="IsValidHostName"/>). libssl
    /// accepts any other bytes; such a name is served like a hello without one, since no route or certificate names it.
    /// </summary>
    public static string? RoutingName(ReadOnlySpan<byte> hostName)
    {
        if (!IsValidHostName(hostName))
        {
            return null;
        }
        Span<char> lower = stackalloc char[MaxHostNameLength];
        for (int i = 0; i < hostName.Length; i++)
        {
            lower[i] = (char)(hostName[i] | (IsAsciiUpper(hostName[i]) ? 0x20 : 0));
        }
        return new string(lower.Slice(0, hostName.Length));
    }

    /// <summary>The protocol names of a list <see cref="ReadAlpn"/> accepted, in the client's order.</summary>
    public static string[] ProtocolNames(ReadOnlySpan<byte> list)
    {
        int count = 0;
        for (var reader = new BigEndianReader(list); reader.TryReadVector8(out _);)
        {
            count++;
        }
        var protocols = new string[count];
        var names = new BigEndianReader(list);
        for (int i = 0; i < protocols.Length; i++)
        {
            names.TryReadVector8(out ReadOnlySpan<byte> name);
            protocols[i] = ProtocolName(name);
        }
        return protocols;
    }

    /// <summary>
    /// ASCII DNS name: labels of letters, digits, '-' and '_' (seen in real names), 1..63 bytes, no
    /// leading or trailing '-', no empty label and no trailing dot (RFC 6066 3). IDNs arrive as A-labels.
    /// </summary>
    internal static bool IsValidHostName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxHostNameLength)
        {
            return false;
        }
        foreach (Range range in name.Split((byte)'.'))
        {
            ReadOnlySpan<byte> label = name[range];
            if (label.IsEmpty || label.Length > MaxLabelLength || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }
            foreach (byte b in label)
            {
                if (!(char.IsAsciiLetterOrDigit((char)b) || b == '-' || b == '_'))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private static bool IsAsciiUpper(byte b) => (uint)(b - 'A') <= 'Z' - 'A';

    private static string ProtocolName(ReadOnlySpan<byte> name)
    {
        foreach (string known in s_knownProtocols)
        {
            if (name.Length == known.Length && Matches(name, known))
            {
                return known;
            }
        }
        // ALPN ids are opaque bytes; Latin-1 maps each byte to one char, so nothing is lost.
        return Encoding.Latin1.GetString(name);
    }

    private static bool Matches(ReadOnlySpan<byte> bytes, string text)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
            {
                return false;
            }
        }
        return true;
    }
}
