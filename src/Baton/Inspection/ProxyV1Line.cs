using System.Net;
using System.Net.Sockets;

namespace Baton.Inspection;

/// <summary>
/// Strict parser for the part of a v1 line after "PROXY " and before CRLF:
/// "TCP4|TCP6 src dst sport dport" with single spaces, or "UNKNOWN" followed by anything.
/// </summary>
internal static class ProxyV1Line
{
    private const int MaxIPv6TextLength = 45;

    public static ProxyHeaderError Parse(ReadOnlySpan<byte> line, int length, out ProxyHeader? header)
    {
        header = null;
        if (line.SequenceEqual("UNKNOWN"u8) || line.StartsWith("UNKNOWN "u8))
        {
            // The spec tells receivers to ignore whatever follows UNKNOWN.
            header = new ProxyHeader { Version = 1, Length = length };
            return ProxyHeaderError.None;
        }
        AddressFamily family;
        if (line.StartsWith("TCP4 "u8))
        {
            family = AddressFamily.InterNetwork;
        }
        else if (line.StartsWith("TCP6 "u8))
        {
            family = AddressFamily.InterNetworkV6;
        }
        else
        {
            return ProxyHeaderError.BadFamily;
        }

        Span<Range> fields = stackalloc Range[5];
        ReadOnlySpan<byte> rest = line.Slice(5);
        if (Split(rest, (byte)' ', fields) != 4)
        {
            return ProxyHeaderError.Malformed;
        }
        foreach (Range field in fields.Slice(0, 4))
        {
            if (rest[field].IsEmpty)
            {
                return ProxyHeaderError.Malformed; // double or trailing space
            }
        }
        if (!TryParseAddress(rest[fields[0]], family, out IPAddress? source) ||
            !TryParseAddress(rest[fields[1]], family, out IPAddress? destination))
        {
            return ProxyHeaderError.BadAddress;
        }
        if (!TryParsePort(rest[fields[2]], out int sourcePort) || !TryParsePort(rest[fields[3]], out int destinationPort))
        {
            return ProxyHeaderError.BadPort;
        }
        header = new ProxyHeader
        {
            Version = 1,
            Source = new IPEndPoint(source, sourcePort),
            Destination = new IPEndPoint(destination, destinationPort),
            Length = length,
        };
        return ProxyHeaderError.None;
    }

    private static bool TryParseAddress(ReadOnlySpan<byte> text, AddressFamily family, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = family == AddressFamily.InterNetwork ? ParseDottedQuad(text) : ParseIPv6(text);
        return address is not null;
    }

    /// <summary>Exactly four decimal octets 0..255 without leading zeros (no octal, hex or short forms).</summary>
    internal static IPAddress? ParseDottedQuad(ReadOnlySpan<byte> text)
    {
        Span<byte> octets = stackalloc byte[4];
        Span<Range> parts = stackalloc Range[5];
        if (Split(text, (byte)'.', parts) != 4)
        {
            return null;
        }
        for (int i = 0; i < 4; i++)
        {
            if (!TryParseDecimal(text[parts[i]], 3, out int value) || value > 255)
            {
                return null;
            }
            octets[i] = (byte)value;
        }
        return new IPAddress(octets);
    }

    private static IPAddress? ParseIPv6(ReadOnlySpan<byte> text)
    {
        // Hex digits, ':' and '.' only: no scope ids, brackets or whitespace that TryParse would accept.
        if (text.IsEmpty || text.Length > MaxIPv6TextLength || text.IndexOfAnyExcept("0123456789abcdefABCDEF:."u8) >= 0)
        {
            return null;
        }
        Span<char> chars = stackalloc char[MaxIPv6TextLength];
        for (int i = 0; i < text.Length; i++)
        {
            chars[i] = (char)text[i];
        }
        return IPAddress.TryParse(chars.Slice(0, text.Length), out IPAddress? address) &&
               address.AddressFamily == AddressFamily.InterNetworkV6
            ? address
            : null;
    }

    /// <summary>Splits into ranges; returns ranges.Length when there are at least that many parts.</summary>
    private static int Split(ReadOnlySpan<byte> text, byte separator, Span<Range> ranges)
    {
        int count = 0;
        foreach (Range range in text.Split(separator))
        {
            if (count == ranges.Length)
            {
                break;
            }
            ranges[count++] = range;
        }
        return count;
    }

    private static bool TryParsePort(ReadOnlySpan<byte> text, out int port) =>
        TryParseDecimal(text, 5, out port) && port <= 65535;

    /// <summary>1..maxDigits ASCII digits, no sign, no leading zero unless the number is exactly "0".</summary>
    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int maxDigits, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits || (text[0] == '0' && text.Length > 1))
        {
            return false;
        }
        foreach (byte b in text)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }
            value = value * 10 + (b - '0');
        }
        return true;
    }
}
