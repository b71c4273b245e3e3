namespace Baton.Inspection;

/// <summary>What the front needs from a ClientHello to route a connection without terminating TLS: SNI and ALPN, nothing else.</summary>
internal sealed class ClientHelloInfo
{
    /// <summary>
    /// The host_name from server_name, lowercased, when it is a DNS name a route can match; null when the client sent
    /// none, or a name libssl accepts but no route could name (e.g. "a..example", a trailing dot).
    /// </summary>
    public string? ServerName { get; internal init; }

    /// <summary>ALPN protocols in client preference order; empty when the client sent no ALPN.</summary>
    public IReadOnlyList<string> ApplicationProtocols { get; internal init; } = [];

    /// <summary>Bytes from the start of the connection to the hello's last byte: its records, headers included.</summary>
    public int Length { get; internal init; }
}
