namespace Baton.Inspection;

/// <summary>The routing-relevant facts of an HTTP/1.x request head.</summary>
internal sealed class HttpRequestHead
{
    public string Method { get; internal init; } = "";

    /// <summary>The request-target exactly as sent.</summary>
    public string Target { get; internal init; } = "";

    /// <summary>Path of the target without query, not percent-decoded; "*" for asterisk-form, null for CONNECT.</summary>
    public string? Path { get; internal init; }

    /// <summary>
    /// The path as the worker's application will see it (<see cref="RequestPath"/>: decoded, dot segments removed);
    /// what routing matches on. Null for CONNECT and asterisk-form.
    /// </summary>
    public string? NormalizedPath { get; internal init; }

    /// <summary><see cref="System.Net.HttpVersion.Version10"/> or <see cref="System.Net.HttpVersion.Version11"/>.</summary>
    public Version Version { get; internal init; } = System.Net.HttpVersion.Version11;

    /// <summary>
    /// Lowercased host without port (IPv6 literals keep their brackets), from the target's authority when it has
    /// one, else from Host; "" for an empty Host field; null when an HTTP/1.0 request has neither.
    /// </summary>
    public string? Host { get; internal init; }

    /// <summary>Port given with the host, if any.</summary>
    public int? Port { get; internal init; }

    public int HeaderCount { get; internal init; }

    public long? ContentLength { get; internal init; }

    /// <summary>Transfer-Encoding: chunked (the only transfer coding accepted).</summary>
    public bool IsChunked { get; internal init; }

    /// <summary>Bytes of the head including the final CRLFCRLF; the body (or next request) starts here.</summary>
    public int HeadLength { get; internal init; }
}
