using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Baton.Inspection;

/// <summary>Character classes of RFC 9110/9112/3986 and the uri-host[:port] grammar, as vectorizable sets.</summary>
internal static class HttpSyntax
{
    private const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>tchar (RFC 9110 5.6.2).</summary>
    public static readonly SearchValues<byte> Token = SearchValues.Create("!#$%&'*+-.^_`|~"u8.ToArray().Concat(Alphanumerics.Select(c => (byte)c)).ToArray());

    /// <summary>pchar and '/' (RFC 3986 3.3); '%' is allowed here and its two hex digits checked separately.</summary>
    public static readonly SearchValues<byte> PathChars = SearchValues.Create("-._~!$&'()*+,;=:@/%"u8.ToArray().Concat(Alphanumerics.Select(c => (byte)c)).ToArray());

    /// <summary>Field value bytes: HTAB, SP, VCHAR and obs-text (RFC 9110 5.5); every other control is refused.</summary>
    public static readonly SearchValues<byte> FieldValue = SearchValues.Create(
        Enumerable.Range(0x20, 0x7F - 0x20).Concat(Enumerable.Range(0x80, 0x80)).Select(b => (byte)b).Append((byte)'\t').ToArray());

    public static bool IsToken(ReadOnlySpan<byte> text) => !text.IsEmpty && !text.ContainsAnyExcept(Token);

    /// <summary>Path characters only, and every '%' followed by two hex digits.</summary>
    public static bool IsPath(ReadOnlySpan<byte> path)
    {
        if (path.ContainsAnyExcept(PathChars))
        {
            return false;
        }
        for (int i = path.IndexOf((byte)'%'); i >= 0; i = NextPercent(path, i))
        {
            if (i + 2 >= path.Length || !char.IsAsciiHexDigit((char)path[i + 1]) || !char.IsAsciiHexDigit((char)path[i + 2]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Query: any visible ASCII except '#'. Looser than RFC 3986 on purpose: real clients send raw '|', '[', '"'
    /// in queries and the query never takes part in routing; controls, spaces and non-ASCII are still refused.
    /// </summary>
    public static bool IsQuery(ReadOnlySpan<byte> query) =>
        !query.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) && !query.Contains((byte)'#');

    /// <summary>
    /// uri-host [ ":" port ] restricted to what routing can use: a DNS-like reg-name (letters, digits, '-', '_',
    /// non-empty labels, no trailing dot), a dotted IPv4 or a bracketed IPv6 literal. No userinfo, no
    /// percent-encoding, no IPvFuture; the port, when there is a colon, is 1..65535 digits without leading zeros.
    /// </summary>
    public static bool TryParseHost(ReadOnlySpan<byte> text, bool requirePort, out string host, out int? port)
    {
        host = "";
        port = null;
        int colon;
        ReadOnlySpan<byte> name;
        if (!text.IsEmpty && text[0] == '[')
        {
            int close = text.IndexOf((byte)']');
            if (close < 0 || !IsIPv6Literal(text.Slice(1, close - 1)))
            {
                return false;
            }
            name = text.Slice(0, close + 1);
            colon = close + 1 == text.Length ? -1 : close + 1;
            if (colon >= 0 && text[colon] != ':')
            {
                return false;
            }
        }
        else
        {
            colon = text.IndexOf((byte)':');
            name = colon < 0 ? text : text.Slice(0, colon);
            if (!ClientHelloExtensions.IsValidHostName(name))
            {
                return false;
            }
        }
        if (colon >= 0)
        {
            if (!TryParsePort(text.Slice(colon + 1), out int value))
            {
                return false;
            }
            port = value;
        }
        else if (requirePort)
        {
            return false;
        }
        host = Lowercase(name);
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<byte> text, out int port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5 || text[0] == '0')
        {
            return false;
        }
        foreach (byte b in text)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }
            port = port * 10 + (b - '0');
        }
        return port <= 65535;
    }

    private static bool IsIPv6Literal(ReadOnlySpan<byte> text)
    {
        const int MaxLength = 45;
        if (text.IsEmpty || text.Length > MaxLength || text.IndexOfAnyExcept("0123456789abcdefABCDEF:."u8) >= 0)
        {
            return false;
        }
        Span<char> chars = stackalloc char[MaxLength];
        for (int i = 0; i < text.Length; i++)
        {
            chars[i] = (char)text[i];
        }
        return IPAddress.TryParse(chars.Slice(0, text.Length), out IPAddress? address) &&
               address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    private static string Lowercase(ReadOnlySpan<byte> ascii)
    {
        // Callers pass validated host names (at most 255 bytes) or IPv6 literals (at most 47).
        Span<char> chars = stackalloc char[256];
        for (int i = 0; i < ascii.Length; i++)
        {
            chars[i] = (char)(ascii[i] | (char.IsAsciiLetterUpper((char)ascii[i]) ? 0x20 : 0));
        }
        return new string(chars.Slice(0, ascii.Length));
    }

    private static int NextPercent(ReadOnlySpan<byte> path, int current)
    {
        int next = path.Slice(current + 1).IndexOf((byte)'%');
        return next < 0 ? -1 : current + 1 + next;
    }
}
