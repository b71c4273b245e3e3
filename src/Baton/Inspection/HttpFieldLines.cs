using System.Text;

namespace Baton.Inspection;

/// <summary>
/// Validates field lines one at a time and keeps the fields that decide routing and framing:
/// Host, Content-Length and Transfer-Encoding (RFC 9112 5, 6).
/// </summary>
internal ref struct HttpFieldLines
{
    private readonly bool _isHttp10;

    public HttpFieldLines(bool isHttp10) => _isHttp10 = isHttp10;

    public int Count { get; private set; }

    public bool HasHost { get; private set; }

    public ReadOnlySpan<byte> Host { get; private set; }

    public long? ContentLength { get; private set; }

    public bool HasTransferEncoding { get; private set; }

    public bool IsChunked { get; private set; }

    /// <summary>Adds one field line (without CRLF; the caller guarantees it holds no CR or LF).</summary>
    public HttpHeadError Add(ReadOnlySpan<byte> line, int maxCount)
    {
        if (++Count > maxCount)
        {
            return HttpHeadError.TooManyHeaders;
        }
        if (line[0] == ' ' || line[0] == '\t')
        {
            return HttpHeadError.ObsFold;
        }
        int colon = line.IndexOf((byte)':');
        // A name must be a token: whitespace before the colon fails here (RFC 9112 5.1 requires 400).
        if (colon < 0 || !HttpSyntax.IsToken(line.Slice(0, colon)))
        {
            return HttpHeadError.InvalidHeaderName;
        }
        ReadOnlySpan<byte> name = line.Slice(0, colon);
        ReadOnlySpan<byte> value = line.Slice(colon + 1).Trim(" \t"u8);
        if (value.ContainsAnyExcept(HttpSyntax.FieldValue))
        {
            return HttpHeadError.InvalidHeaderValue;
        }

        if (Ascii.EqualsIgnoreCase(name, "host"u8))
        {
            return AddHost(value);
        }
        if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
        {
            return AddContentLength(value);
        }
        if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
        {
            return AddTransferEncoding(value);
        }
        return HttpHeadError.None;
    }

    /// <summary>Checks that need every field line.</summary>
    public readonly HttpHeadError Finish() =>
        ContentLength.HasValue && HasTransferEncoding ? HttpHeadError.ContentLengthWithTransferEncoding
        : !HasHost && !_isHttp10 ? HttpHeadError.MissingHost
        : HttpHeadError.None;

    private HttpHeadError AddHost(ReadOnlySpan<byte> value)
    {
        if (HasHost)
        {
            return HttpHeadError.DuplicateHost;
        }
        HasHost = true;
        Host = value;
        // An empty Host is legal when the target URI has no authority (RFC 9110 7.2).
        return value.IsEmpty || HttpSyntax.TryParseHost(value, requirePort: false, out _, out _)
            ? HttpHeadError.None
            : HttpHeadError.BadHost;
    }

    /// <summary>
    /// 1*DIGIT only: the list form "5, 5" that RFC 9110 8.6 lets recipients merge is refused, because a
    /// worker that reads it differently would frame the body differently. Repeated equal fields are accepted.
    /// </summary>
    private HttpHeadError AddContentLength(ReadOnlySpan<byte> value)
    {
        const int MaxDigits = 18; // 10^18 - 1 fits in a long with no overflow check
        if (value.IsEmpty || value.Length > MaxDigits || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            return HttpHeadError.InvalidContentLength;
        }
        long length = 0;
        foreach (byte digit in value)
        {
            length = length * 10 + (digit - '0');
        }
        if (ContentLength.HasValue && ContentLength.Value != length)
        {
            return HttpHeadError.MultipleContentLength;
        }
        ContentLength = length;
        return HttpHeadError.None;
    }

    /// <summary>Only "chunked", exactly once, across all Transfer-Encoding fields.</summary>
    private HttpHeadError AddTransferEncoding(ReadOnlySpan<byte> value)
    {
        // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing.
        if (_isHttp10)
        {
            return HttpHeadError.BadTransferEncoding;
        }
        HasTransferEncoding = true;
        foreach (Range range in value.Split((byte)','))
        {
            ReadOnlySpan<byte> coding = value[range].Trim(" \t"u8);
            if (coding.IsEmpty || IsChunked)
            {
                // Empty element, chunked applied twice, or chunked not the final coding (RFC 9112 6.3: 400).
                return HttpHeadError.BadTransferEncoding;
            }
            if (!Ascii.EqualsIgnoreCase(coding, "chunked"u8))
            {
                return HttpSyntax.IsToken(coding) ? HttpHeadError.UnsupportedTransferCoding : HttpHeadError.BadTransferEncoding;
            }
            IsChunked = true;
        }
        return HttpHeadError.None;
    }
}
