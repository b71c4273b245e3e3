using Baton.Configuration;

namespace Baton.AspNetCore;

/// <summary>
/// Baton's own facts about a connection, next to Kestrel's TLS features:
/// <c>HttpContext.Features.Get&lt;IBatonConnectionFeature&gt;()</c>.
/// </summary>
public interface IBatonConnectionFeature
{
    /// <summary>The pool the front's route picked.</summary>
    string Pool { get; }

    /// <summary>Passthrough (this worker ran the handshake) or handoff (the front did and handed the session over).</summary>
    HandoffMode Mode { get; }

    /// <summary>The front's id for this connection: the <c>connection {Id}</c> of the front's log lines.</summary>
    ulong FrontConnectionId { get; }

    /// <summary>OpenSSL's name of the TLS version, e.g. "TLSv1.3" (Kestrel's view: ITlsHandshakeFeature.Protocol).</summary>
    string TlsProtocolName { get; }

    /// <summary>OpenSSL's name of the suite, e.g. "ECDHE-RSA-AES128-GCM-SHA256" (IANA: ITlsHandshakeFeature.NegotiatedCipherSuite).</summary>
    string CipherSuiteName { get; }
}
