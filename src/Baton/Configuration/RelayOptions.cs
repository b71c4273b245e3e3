namespace Baton.Configuration;

/// <summary>
/// A proxy pool's relay (<c>Pools:NAME:Relay</c>): how its workers reach the backends and how long a relayed
/// connection may stay silent. The backends themselves are the pool's <c>Backend</c>/<c>Backends</c>.
/// </summary>
internal sealed class RelayOptions
{
    /// <summary>The longest a backend connection attempt may take before the next backend is tried.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Send a PROXY protocol v2 header first on each backend connection: the client's address and the TLS facts as
    /// TLVs (PP2_TYPE_SSL with version and cipher, PP2_TYPE_AUTHORITY for SNI, PP2_TYPE_ALPN), as hitch's
    /// write-proxy-v2 and HAProxy's send-proxy-v2-ssl do.
    /// </summary>
    public bool SendProxyProtocol { get; set; }

    /// <summary>A connection whose client side moved no byte (read or written) this long is closed.</summary>
    public TimeSpan ClientIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A connection whose backend side moved no byte (read or written) this long is closed.</summary>
    public TimeSpan BackendIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest a backend that refused a connection is left out before it is tried again (the wait doubles from 1 s).</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);
}
