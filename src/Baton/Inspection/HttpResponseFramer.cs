using System.Buffers;
using System.Buffers.Text;

namespace Baton.Inspection;

/// <summary>What <see cref="HttpResponseFramer"/> found wrong, or why the connection cannot be handed back after it.</summary>
internal enum HttpResponseError
{
    None,

    /// <summary>No CRLFCRLF within <see cref="HttpResponseFramer.MaxHeadBytes"/>.</summary>
    HeadTooLarge,

    /// <summary>The status line is not "HTTP/1.x SSS ...", or a line end is not CRLF.</summary>
    BadStatusLine,

    /// <summary>A field line without a colon, or a Content-Length / Transfer-Encoding that does not frame the body.</summary>
    BadField,

    /// <summary>101 Switching Protocols: the connection speaks another protocol from here on.</summary>
    Upgraded,

    /// <summary>Neither Content-Length nor chunked: the body ends when the connection closes (RFC 9112 §6.3 item 8).</summary>
    CloseDelimited,

    /// <summary>The body's chunked coding is malformed (see the body framer's error).</summary>
    BadBody,
}

/// <summary>
/// Follows the responses a worker writes on a connection (RFC 9112 §6.3), so that the connection is handed back only
/// between two complete responses. Resumable like <see cref="HttpBodyFramer"/>: feed the written bytes in any pieces;
/// <see cref="ParseStatus.Complete"/> when a final response ended (interim 1xx responses are passed over). The head is
/// collected (at most <see cref="MaxHeadBytes"/>), the body is only counted. A response that makes a boundary
/// impossible — 101, close-delimited, a malformed one — is <see cref="ParseStatus.Invalid"/>: the connection is not
/// handed back after it (it is served to its end where it is).
/// </summary>
internal sealed class HttpResponseFramer
{
    public const int MaxHeadBytes = 64 * 1024;

    private readonly ArrayBufferWriter<byte> _head = new(1024);
    private bool _inBody;
    private HttpBodyFramer _body;

    /// <summary>The response that completed last carried <c>Connection: close</c>: the connection ends after it.</summary>
    public bool ClosesConnection { get; private set; }

    /// <summary>
    /// Consumes the bytes of the response in progress at the start of <paramref name="data"/>. Complete: the final
    /// response ended after <paramref name="consumed"/> bytes (the rest is the next response). <paramref name="headRequest"/>:
    /// the response answers a HEAD request, so it has no body whatever its fields say.
    /// </summary>
    public ParseStatus Advance(ReadOnlySpan<byte> data, bool headRequest, out int consumed, out HttpResponseError error)
    {
        error = HttpResponseError.None;
        consumed = 0;
        while (consumed < data.Length || _inBody)
        {
            if (_inBody)
            {
                ParseStatus body = _body.Advance(data[consumed..], out int used, out _);
                consumed += used;
                if (body == ParseStatus.NeedMoreData) return body;
                _inBody = false;
                if (body == ParseStatus.Invalid)
                {
                    error = HttpResponseError.BadBody;
                    return body;
                }
                return ParseStatus.Complete;
            }
            ParseStatus head = AdvanceHead(data[consumed..], headRequest, out int headUsed, out error, out bool final);
            consumed += headUsed;
            if (head != ParseStatus.Complete) return head;
            if (final && _body.IsComplete) return ParseStatus.Complete;
            _inBody = final;
        }
        return ParseStatus.NeedMoreData;
    }

    /// <summary>Collects the head until CRLFCRLF, then reads it; <paramref name="final"/> is false for an interim 1xx.</summary>
    private ParseStatus AdvanceHead(ReadOnlySpan<byte> data, bool headRequest, out int used, out HttpResponseError error, out bool final)
    {
        final = false;
        error = HttpResponseError.None;
        int before = _head.WrittenCount;
        int room = Math.Min(data.Length, MaxHeadBytes - before);
        _head.Write(data[..room]);
        // The end may straddle two pieces: search from three bytes before the new ones.
        int from = Math.Max(0, before - 3);
        int end = _head.WrittenSpan[from..].IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            used = room;
            if (_head.WrittenCount < MaxHeadBytes) return ParseStatus.NeedMoreData;
            error = HttpResponseError.HeadTooLarge;
            return ParseStatus.Invalid;
        }
        int headLength = from + end + 4;
        used = headLength - before;
        error = ReadHead(_head.WrittenSpan[..headLength], headRequest, out final);
        _head.ResetWrittenCount();
        return error == HttpResponseError.None ? ParseStatus.Complete : ParseStatus.Invalid;
    }

    private HttpResponseError ReadHead(ReadOnlySpan<byte> head, bool headRequest, out bool final)
    {
        final = false;
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> statusLine = head[..lineEnd];
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != ' '
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out int digits) || digits != 3
            || status < 100 || (statusLine.Length > 12 && statusLine[12] != ' '))
            return HttpResponseError.BadStatusLine;
        if (status == 101) return HttpResponseError.Upgraded;
        if (status < 200) return HttpResponseError.None; // interim: the final response follows
        final = true;
        HttpResponseError error = ReadFields(head[(lineEnd + 2)..^2], out long? contentLength, out bool chunked, out bool close);
        if (error != HttpResponseError.None) return error;
        ClosesConnection = close;
        if (headRequest || status is 204 or 304)
            _body = default;
        else if (chunked)
            _body = HttpBodyFramer.Chunked();
        else if (contentLength is long length)
            _body = HttpBodyFramer.ContentLength(length);
        else
            return HttpResponseError.CloseDelimited;
        return HttpResponseError.None;
    }

    /// <summary>The three fields that frame a response; every other field is passed over.</summary>
    private static HttpResponseError ReadFields(ReadOnlySpan<byte> fields, out long? contentLength, out bool chunked, out bool close)
    {
        contentLength = null;
        chunked = close = false;
        bool transferEncoding = false;
        while (!fields.IsEmpty)
        {
            int end = fields.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = end < 0 ? fields : fields[..end];
            fields = end < 0 ? default : fields[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line.IndexOfAny((byte)'\r', (byte)'\n') >= 0) return HttpResponseError.BadField;
            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (System.Text.Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out int used) || used != value.Length || length < 0
                    || (contentLength is long earlier && earlier != length))
                    return HttpResponseError.BadField;
                contentLength = length;
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                transferEncoding = true;
                chunked = LastCodingIsChunked(value);
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                close |= HasToken(value, "close"u8);
            }
        }
        // A transfer coding that does not end in chunked is close-delimited (RFC 9112 §6.3 item 4).
        if (transferEncoding && !chunked) contentLength = null;
        return HttpResponseError.None;
    }

    private static bool LastCodingIsChunked(ReadOnlySpan<byte> value)
    {
        int comma = value.LastIndexOf((byte)',');
        return System.Text.Ascii.EqualsIgnoreCase(value[(comma + 1)..].Trim(" \t"u8), "chunked"u8);
    }

    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (Range part in value.Split((byte)','))
        {
            if (System.Text.Ascii.EqualsIgnoreCase(value[part].Trim(" \t"u8), token)) return true;
        }
        return false;
    }
}
