namespace Baton.Front;

/// <summary>
/// The front gave up on one connection for a known reason. <see cref="Reason"/> is a short stable
/// code (the metrics tag and the log's reason field); the message says what was seen.
/// </summary>
internal sealed class ConnectionRejectedException : Exception
{
    public ConnectionRejectedException(string reason, string detail, byte? alert = null)
        : base(detail)
    {
        Reason = reason;
        Alert = alert;
    }

    public string Reason { get; }

    /// <summary>The fatal TLS alert the client is answered with (the one libssl would send), before any keys exist; null: none.</summary>
    public byte? Alert { get; }
}

/// <summary>The reason codes, one per way a connection can fail in the front.</summary>
internal static class RejectReason
{
    public const string PeerClosed = "peer_closed";

    /// <summary>
    /// Closed without sending a byte (of the PROXY header or, after one, of the ClientHello): a browser's unused
    /// preconnect, a TCP health check. Nothing went wrong, so it is logged at Debug, but still counted.
    /// </summary>
    public const string Preconnect = "preconnect";
    public const string ProxyHeaderInvalid = "proxy_header_invalid";
    public const string ProxyHeaderTimeout = "proxy_header_timeout";
    public const string ClientHelloInvalid = "client_hello_invalid";
    public const string ClientHelloTooLarge = "client_hello_too_large";
    public const string ClientHelloTimeout = "client_hello_timeout";
    public const string ClientHelloUnexpectedRecord = "client_hello_unexpected_record";
    public const string PlainHttp = "plain_http";
    public const string NoWorker = "no_worker";
    public const string SocketError = "socket_error";
    public const string HandshakeFailed = "handshake_failed";
    public const string HandshakeTimeout = "handshake_timeout";
    public const string RequestInvalid = "request_invalid";
    public const string RequestTimeout = "request_timeout";
    public const string HandoffRefused = "handoff_refused";
    public const string InternalError = "internal_error";
}
