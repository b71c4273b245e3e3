namespace Baton.Tls;

/// <summary>
/// What a <see cref="TlsServerContext"/> is built from. Everything else is fixed by Baton: TLS 1.2 and 1.3 only,
/// ECDHE with AEAD suites only, no renegotiation, no compression, no early data, read-ahead off.
/// </summary>
internal sealed class TlsServerOptions
{
    /// <summary>The first certificate is the default (no SNI, or no name matched); later ones are picked by SNI.</summary>
    public IList<TlsCertificate> Certificates { get; } = new List<TlsCertificate>();

    /// <summary>
    /// ALPN protocols in server preference order, e.g. "h2", "http/1.1". A client whose ALPN list has none of them gets
    /// a fatal no_application_protocol alert; one that sends no ALPN is served. Empty: ALPN is not answered.
    /// </summary>
    public IList<string> ApplicationProtocols { get; } = new List<string>();

    /// <summary>
    /// ALPN is chosen per connection once its ClientHello is read, by the selector given to each <see cref="OpenSslStream"/>
    /// (the handoff front: the pool the hello's SNI routes to), instead of from <see cref="ApplicationProtocols"/>, which
    /// must then be empty. A connection without a selector does not answer ALPN.
    /// </summary>
    public bool ApplicationProtocolsPerConnection { get; set; }

    /// <summary>TLS 1.3 session tickets sent after each full handshake (OpenSSL's default is 2; 0 turns them off).</summary>
    public int SessionTicketCount { get; set; } = 2;

    /// <summary>
    /// More setup of the new SSL_CTX, run after Baton's defaults: the handoff front installs the keylog and msg
    /// callbacks its per-connection capture needs here (Tls.Handoff sits above this floor and is not known to it).
    /// </summary>
    internal Action<SafeSslContextHandle>? ContextSetup { get; set; }

    /// <summary>
    /// Keys for session tickets, e.g. loaded from a key file shared by several fronts. Null: OpenSSL's random
    /// per-context keys (tickets then resume only on the context that issued them).
    /// </summary>
    public TicketKeyRing? SessionTicketKeys { get; set; }

    /// <summary>Where the certificates' OCSP staples say when they start or stop being stapled; null: nowhere.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; set; }
}
