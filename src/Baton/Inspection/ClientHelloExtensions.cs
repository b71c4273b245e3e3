using System.Buffers.Binary;
using System.Text;

namespace Baton.Inspection;

/// <summary>
/// Validates a ClientHello's extension block and remembers where the interesting extensions are, so
/// strings and arrays are built once, only for a hello that is valid as a whole.
/// </summary>
internal ref struct ClientHelloExtensions
{
    private const ushort ServerNameType = 0;
    private const ushort AlpnType = 16;
    private const ushort PreSharedKeyType = 41;
    private const ushort SupportedVersionsType = 43;
    private const int MaxHostNameLength = 255;
    private const int MaxLabelLength = 63;

    // Well-known ALPN ids map to literals so the common hello allocates no ALPN strings.
    private static readonly string[] s_knownProtocols = ["h2", "http/1.1", "http/1.0", "h3", "acme-tls/1"];

    private ReadOnlySpan<byte> _hostName;
    private ReadOnlySpan<byte> _alpnList;
    private ReadOnlySpan<byte> _versions;
    private int _alpnCount;

    public ClientHelloError Parse(ReadOnlySpan<byte> block)
    {
        // One bit per extension type (8 KiB) detects duplicates in a single pass.
        Span<ulong> seen = stackalloc ulong[65536 / 64];
        seen.Clear();
        var reader = new BigEndianReader(block);
        bool afterPreSharedKey = false;
        while (!reader.IsEmpty)
        {
            if (afterPreSharedKey ||
                !reader.TryReadUInt16(out ushort type) ||
                !reader.TryReadVector16(out ReadOnlySpan<byte> body))
            {
                // pre_shared_key must be the last extension (RFC 8446 4.2.11).
                return ClientHelloError.Malformed;
            }
            ulong bit = 1UL << (type & 63);
            if ((seen[type >> 6] & bit) != 0)
            {
                return ClientHelloError.DuplicateExtension;
            }
            seen[type >> 6] |= bit;

            ClientHelloError error = type switch
            {
                ServerNameType => ParseServerName(body),
                AlpnType => ParseAlpn(body),
                SupportedVersionsType => ParseSupportedVersions(body),
                _ => ClientHelloError.None,
            };
            if (error != ClientHelloError.None)
            {
                return error;
            }
            afterPreSharedKey = type == PreSharedKeyType;
        }
        return ClientHelloError.None;
    }

    public readonly string? ServerName()
    {
        if (_hostName.IsEmpty)
        {
            return null;
        }
        Span<char> lower = stackalloc char[MaxHostNameLength];
        for (int i = 0; i < _hostName.Length; i++)
        {
            lower[i] = (char)(_hostName[i] | (IsAsciiUpper(_hostName[i]) ? 0x20 : 0));
        }
        return new string(lower.Slice(0, _hostName.Length));
    }

    public readonly string[] ApplicationProtocols()
    {
        if (_alpnCount == 0)
        {
            return [];
        }
        var protocols = new string[_alpnCount];
        var reader = new BigEndianReader(_alpnList);
        for (int i = 0; i < protocols.Length; i++)
        {
            reader.TryReadVector8(out ReadOnlySpan<byte> name);
            protocols[i] = ProtocolName(name);
        }
        return protocols;
    }

    public readonly ushort[] SupportedVersions()
    {
        if (_versions.IsEmpty)
        {
            return [];
        }
        var versions = new ushort[_versions.Length / 2];
        for (int i = 0; i < versions.Length; i++)
        {
            versions[i] = BinaryPrimitives.ReadUInt16BigEndian(_versions.Slice(i * 2));
        }
        return versions;
    }

    private ClientHelloError ParseServerName(ReadOnlySpan<byte> body)
    {
        var outer = new BigEndianReader(body);
        if (!outer.TryReadVector16(out ReadOnlySpan<byte> list) || !outer.IsEmpty || list.IsEmpty)
        {
            return ClientHelloError.BadServerName;
        }
        var reader = new BigEndianReader(list);
        while (!reader.IsEmpty)
        {
            if (!reader.TryReadByte(out byte nameType) || !reader.TryReadVector16(out ReadOnlySpan<byte> name))
            {
                return ClientHelloError.BadServerName;
            }
            if (nameType != 0)
            {
                continue; // Only host_name (0) is defined; other types are skipped, not trusted.
            }
            if (!_hostName.IsEmpty || !IsValidHostName(name))
            {
                // RFC 6066: at most one name of each type.
                return ClientHelloError.BadServerName;
            }
            _hostName = name;
        }
        return ClientHelloError.None;
    }

    private ClientHelloError ParseAlpn(ReadOnlySpan<byte> body)
    {
        var outer = new BigEndianReader(body);
        if (!outer.TryReadVector16(out ReadOnlySpan<byte> list) || !outer.IsEmpty || list.IsEmpty)
        {
            return ClientHelloError.BadAlpn;
        }
        var reader = new BigEndianReader(list);
        int count = 0;
        while (!reader.IsEmpty)
        {
            if (!reader.TryReadVector8(out ReadOnlySpan<byte> name) || name.IsEmpty)
            {
                return ClientHelloError.BadAlpn;
            }
            count++;
        }
        _alpnList = list;
        _alpnCount = count;
        return ClientHelloError.None;
    }

    private ClientHelloError ParseSupportedVersions(ReadOnlySpan<byte> body)
    {
        var outer = new BigEndianReader(body);
        if (!outer.TryReadVector8(out ReadOnlySpan<byte> list) || !outer.IsEmpty || list.IsEmpty || list.Length % 2 != 0)
        {
            return ClientHelloError.BadSupportedVersions;
        }
        _versions = list;
        return ClientHelloError.None;
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
