using System.Text;

namespace Baton.Inspection;

/// <summary>
/// Strict HTTP/1.1 request-head parser (RFC 9112) for the first request the front reads in handoff mode.
/// Stateless and resumable: call again with the whole, longer buffer after <see cref="ParseStatus.NeedMoreData"/>.
/// Until the head is complete a call only looks at line ends (vectorized), the request line and the
/// number of lines, so repeated calls stay cheap; the field lines are validated once, when CRLFCRLF arrives.
/// Choices where RFC 9112 leaves room (the front and the worker must never disagree on framing):
/// bare LF is refused (<see cref="HttpHeadError.BareLF"/>), and so are empty lines before the request
/// line (<see cref="HttpHeadError.BadRequestLine"/>): this parser only sees a connection's first request,
/// where no earlier body can leave a stray CRLF behind.
/// </summary>
internal static class HttpRequestHeadParser
{
    private static readonly string[] s_knownMethods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    public static ParseStatus Parse(
        ReadOnlySpan<byte> data, HttpHeadLimits? limits, out HttpRequestHead? head, out HttpHeadError error)
    {
        limits ??= HttpHeadLimits.Default;
        head = null;
        error = FindHeadEnd(data, limits, out int headLength);
        if (error != HttpHeadError.None)
        {
            return ParseStatus.Invalid;
        }
        if (headLength < 0)
        {
            return ParseStatus.NeedMoreData;
        }
        error = ParseHead(data.Slice(0, headLength), limits, out head);
        return error == HttpHeadError.None ? ParseStatus.Complete : ParseStatus.Invalid;
    }

    /// <summary>
    /// Finds CRLFCRLF within the limit (headLength -1 when absent) and rejects early what no more bytes can
    /// fix: bare CR/LF, leading empty lines, a bad request line, folding, too many lines, no end within the limit.
    /// </summary>
    private static HttpHeadError FindHeadEnd(ReadOnlySpan<byte> data, HttpHeadLimits limits, out int headLength)
    {
        headLength = -1;
        ReadOnlySpan<byte> window = data.Slice(0, Math.Min(data.Length, limits.MaxHeadBytes));
        int lineStart = 0;
        int lines = 0;
        while (true)
        {
            if (lines > 0 && lineStart < window.Length && (window[lineStart] == ' ' || window[lineStart] == '\t'))
            {
                return HttpHeadError.ObsFold;
            }
            int end = window.Slice(lineStart).IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0)
            {
                break;
            }
            end += lineStart;
            if (window[end] == '\n')
            {
                return HttpHeadError.BareLF;
            }
            if (end + 1 == window.Length)
            {
                break;
            }
            if (window[end + 1] != '\n')
            {
                return HttpHeadError.BareCR;
            }
            if (end == lineStart)
            {
                headLength = end + 2;
                return lines == 0 ? HttpHeadError.BadRequestLine : HttpHeadError.None;
            }
            if (lines == 0)
            {
                HttpHeadError error = HttpRequestLine.Parse(window.Slice(0, end), out _);
                if (error != HttpHeadError.None)
                {
                    return error;
                }
            }
            else if (lines > limits.MaxHeaderCount)
            {
                return HttpHeadError.TooManyHeaders;
            }
            lines++;
            lineStart = end + 2;
        }
        return data.Length >= limits.MaxHeadBytes ? HttpHeadError.HeadTooLarge : HttpHeadError.None;
    }

    /// <summary>Parses a complete head whose line ends FindHeadEnd already checked.</summary>
    private static HttpHeadError ParseHead(ReadOnlySpan<byte> bytes, HttpHeadLimits limits, out HttpRequestHead? head)
    {
        head = null;
        int requestLineEnd = bytes.IndexOf("\r\n"u8);
        HttpHeadError error = HttpRequestLine.Parse(bytes.Slice(0, requestLineEnd), out HttpRequestLine line);
        if (error != HttpHeadError.None)
        {
            return error;
        }

        var fields = new HttpFieldLines(isHttp10: line.Version == System.Net.HttpVersion.Version10);
        ReadOnlySpan<byte> rest = bytes.Slice(requestLineEnd + 2, bytes.Length - requestLineEnd - 4);
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> fieldLine = end < 0 ? rest : rest.Slice(0, end);
            error = fields.Add(fieldLine, limits.MaxHeaderCount);
            if (error != HttpHeadError.None)
            {
                return error;
            }
            rest = end < 0 ? default : rest.Slice(end + 2);
        }
        error = fields.Finish();
        if (error != HttpHeadError.None)
        {
            return error;
        }
        error = ResolveHost(line, fields.HasHost, fields.Host, out string? host, out int? port);
        if (error != HttpHeadError.None)
        {
            return error;
        }

        string target = Encoding.ASCII.GetString(line.Target);
        string? path = line.Form == TargetForm.Authority ? null
            : line.Form == TargetForm.Asterisk ? "*"
            : line.Path.Length == target.Length ? target
            : Encoding.ASCII.GetString(line.Path);
        if (!RequestPath.TryNormalize(line.Form, target, path, out string? normalizedPath))
        {
            return HttpHeadError.BadPath;
        }
        head = new HttpRequestHead
        {
            Method = MethodName(line.Method),
            Target = target,
            Path = path,
            NormalizedPath = normalizedPath,
            Version = line.Version,
            Host = host,
            Port = port,
            HeaderCount = fields.Count,
            ContentLength = fields.ContentLength,
            IsChunked = fields.IsChunked,
            HeadLength = bytes.Length,
        };
        return HttpHeadError.None;
    }

    /// <summary>
    /// The target's authority wins when there is one (RFC 9112 3.2.2), but a Host field that names a different
    /// host is refused rather than ignored: a worker that trusted Host instead would route elsewhere.
    /// </summary>
    private static HttpHeadError ResolveHost(
        HttpRequestLine line, bool hasHostField, ReadOnlySpan<byte> hostField, out string? host, out int? port)
    {
        host = null;
        port = null;
        bool hasAuthority = line.Form is TargetForm.Absolute or TargetForm.Authority;
        if (hasAuthority)
        {
            HttpSyntax.TryParseHost(line.Authority, requirePort: false, out string authorityHost, out port);
            host = authorityHost;
        }
        if (!hasHostField)
        {
            return HttpHeadError.None;
        }
        string fieldHost = "";
        int? fieldPort = null;
        if (!hostField.IsEmpty)
        {
            HttpSyntax.TryParseHost(hostField, requirePort: false, out fieldHost, out fieldPort);
        }
        if (hasAuthority && (fieldHost != host || fieldPort != port))
        {
            return HttpHeadError.HostMismatch;
        }
        host = fieldHost;
        port = fieldPort;
        return HttpHeadError.None;
    }

    private static string MethodName(ReadOnlySpan<byte> method)
    {
        foreach (string known in s_knownMethods)
        {
            if (Ascii.Equals(method, known))
            {
                return known;
            }
        }
        return Encoding.ASCII.GetString(method);
    }
}
