namespace Baton.Inspection;

/// <summary>Why <see cref="HttpRequestHeadParser"/> answered <see cref="ParseStatus.Invalid"/>.</summary>
internal enum HttpHeadError
{
    /// <summary>No error (the status was not Invalid).</summary>
    None,

    /// <summary>No CRLFCRLF within the head byte limit (431).</summary>
    HeadTooLarge,

    /// <summary>More header fields than the limit (431).</summary>
    TooManyHeaders,

    /// <summary>Request line is not "method SP target SP version", or empty lines precede it.</summary>
    BadRequestLine,

    /// <summary>Method is not a token.</summary>
    BadMethod,

    /// <summary>Request target has illegal characters or a form the method does not allow.</summary>
    BadTarget,

    /// <summary>
    /// The path cannot be read as the worker will read it (<see cref="RequestPath"/>): %00, percent-encoded bytes
    /// that are not UTF-8, or an absolute-form target whose path System.Uri reads otherwise.
    /// </summary>
    BadPath,

    /// <summary>Version is not of the form HTTP/d.d.</summary>
    BadVersion,

    /// <summary>Well-formed version other than HTTP/1.0 or HTTP/1.1 (505).</summary>
    UnsupportedVersion,

    /// <summary>Obsolete line folding (a field line starting with SP or HTAB).</summary>
    ObsFold,

    /// <summary>CR not followed by LF.</summary>
    BareCR,

    /// <summary>LF not preceded by CR (rejected so front and worker cannot disagree on line ends).</summary>
    BareLF,

    /// <summary>Field name empty, not a token, whitespace before the colon, or no colon.</summary>
    InvalidHeaderName,

    /// <summary>Field value holds a control character other than HTAB (NUL and DEL included).</summary>
    InvalidHeaderValue,

    /// <summary>More than one Host field.</summary>
    DuplicateHost,

    /// <summary>HTTP/1.1 request without Host.</summary>
    MissingHost,

    /// <summary>Host (or the target's authority) is not a valid uri-host[:port].</summary>
    BadHost,

    /// <summary>Absolute-form or authority-form target names a different host than the Host field.</summary>
    HostMismatch,

    /// <summary>Content-Length is not a plain decimal number that fits in a long.</summary>
    InvalidContentLength,

    /// <summary>Several Content-Length fields with different values.</summary>
    MultipleContentLength,

    /// <summary>Both Content-Length and Transfer-Encoding (request smuggling vector).</summary>
    ContentLengthWithTransferEncoding,

    /// <summary>Transfer-Encoding in HTTP/1.0, chunked twice or not last, empty list element.</summary>
    BadTransferEncoding,

    /// <summary>A transfer coding other than chunked (501).</summary>
    UnsupportedTransferCoding,
}

/// <summary>Maps parse errors to the response status the front sends before closing.</summary>
internal static class HttpHeadErrorExtensions
{
    /// <summary>431 for size limits, 505 for an unsupported version, 501 for an unknown transfer coding, else 400.</summary>
    public static int ToStatusCode(this HttpHeadError error) => error switch
    {
        HttpHeadError.HeadTooLarge or HttpHeadError.TooManyHeaders => 431,
        HttpHeadError.UnsupportedVersion => 505,
        HttpHeadError.UnsupportedTransferCoding => 501,
        _ => 400,
    };
}
