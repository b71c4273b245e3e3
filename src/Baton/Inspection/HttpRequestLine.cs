using System.Net;

namespace Baton.Inspection;

/// <summary>The four request-target forms of RFC 9112 3.2.</summary>
internal enum TargetForm
{
    Origin,
    Absolute,
    Authority,
    Asterisk,
}

/// <summary>A validated request line; spans point into the caller's buffer.</summary>
internal readonly ref struct HttpRequestLine
{
    public ReadOnlySpan<byte> Method { get; init; }

    public ReadOnlySpan<byte> Target { get; init; }

    public TargetForm Form { get; init; }

    /// <summary>Path without query ("/" when an absolute-form target has none); empty for authority/asterisk forms.</summary>
    public ReadOnlySpan<byte> Path { get; init; }

    /// <summary>host[:port] of absolute-form and authority-form targets.</summary>
    public ReadOnlySpan<byte> Authority { get; init; }

    public Version Version { get; init; }

    /// <summary>method SP request-target SP HTTP-version, exactly one SP each (RFC 9112 3).</summary>
    public static HttpHeadError Parse(ReadOnlySpan<byte> line, out HttpRequestLine result)
    {
        result = default;
        int firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            return HttpHeadError.BadRequestLine;
        }
        ReadOnlySpan<byte> method = line.Slice(0, firstSpace);
        if (!HttpSyntax.IsToken(method))
        {
            return HttpHeadError.BadMethod;
        }
        ReadOnlySpan<byte> rest = line.Slice(firstSpace + 1);
        int secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return HttpHeadError.BadRequestLine;
        }
        ReadOnlySpan<byte> target = rest.Slice(0, secondSpace);
        HttpHeadError error = ParseVersion(rest.Slice(secondSpace + 1), out Version version);
        if (error != HttpHeadError.None)
        {
            return error;
        }
        error = ClassifyTarget(method, target, out TargetForm form, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> authority);
        result = new HttpRequestLine
        {
            Method = method, Target = target, Form = form, Path = path, Authority = authority, Version = version,
        };
        return error;
    }

    private static HttpHeadError ParseVersion(ReadOnlySpan<byte> text, out Version version)
    {
        version = HttpVersion.Version11;
        if (text.SequenceEqual("HTTP/1.1"u8))
        {
            return HttpHeadError.None;
        }
        if (text.SequenceEqual("HTTP/1.0"u8))
        {
            version = HttpVersion.Version10;
            return HttpHeadError.None;
        }
        bool wellFormed = text.Length == 8 && text.StartsWith("HTTP/"u8) &&
                          char.IsAsciiDigit((char)text[5]) && text[6] == '.' && char.IsAsciiDigit((char)text[7]);
        return wellFormed ? HttpHeadError.UnsupportedVersion : HttpHeadError.BadVersion;
    }

    private static HttpHeadError ClassifyTarget(
        ReadOnlySpan<byte> method, ReadOnlySpan<byte> target,
        out TargetForm form, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> authority)
    {
        path = default;
        authority = default;
        if (method.SequenceEqual("CONNECT"u8))
        {
            form = TargetForm.Authority;
            authority = target;
            return HttpSyntax.TryParseHost(target, requirePort: true, out _, out _) ? HttpHeadError.None : HttpHeadError.BadTarget;
        }
        if (target.SequenceEqual("*"u8))
        {
            form = TargetForm.Asterisk;
            return method.SequenceEqual("OPTIONS"u8) ? HttpHeadError.None : HttpHeadError.BadTarget;
        }
        if (target[0] == '/')
        {
            form = TargetForm.Origin;
            return SplitPathAndQuery(target, out path) ? HttpHeadError.None : HttpHeadError.BadTarget;
        }

        form = TargetForm.Absolute;
        int schemeLength = StartsWithIgnoreCase(target, "http://"u8) ? 7 : StartsWithIgnoreCase(target, "https://"u8) ? 8 : -1;
        if (schemeLength < 0)
        {
            return HttpHeadError.BadTarget;
        }
        ReadOnlySpan<byte> afterScheme = target.Slice(schemeLength);
        int authorityEnd = afterScheme.IndexOfAny((byte)'/', (byte)'?');
        authority = authorityEnd < 0 ? afterScheme : afterScheme.Slice(0, authorityEnd);
        ReadOnlySpan<byte> pathAndQuery = authorityEnd < 0 ? default : afterScheme.Slice(authorityEnd);
        // userinfo is deprecated for http(s) (RFC 9110 4.2.4) and only hides the real host from a reader.
        if (authority.IsEmpty || !HttpSyntax.TryParseHost(authority, requirePort: false, out _, out _) ||
            !SplitPathAndQuery(pathAndQuery, out path))
        {
            return HttpHeadError.BadTarget;
        }
        if (path.IsEmpty)
        {
            path = "/"u8;
        }
        return HttpHeadError.None;
    }

    private static bool SplitPathAndQuery(ReadOnlySpan<byte> pathAndQuery, out ReadOnlySpan<byte> path)
    {
        int question = pathAndQuery.IndexOf((byte)'?');
        path = question < 0 ? pathAndQuery : pathAndQuery.Slice(0, question);
        return HttpSyntax.IsPath(path) && (question < 0 || HttpSyntax.IsQuery(pathAndQuery.Slice(question + 1)));
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lowerPrefix) =>
        text.Length >= lowerPrefix.Length && System.Text.Ascii.EqualsIgnoreCase(text.Slice(0, lowerPrefix.Length), lowerPrefix);
}
