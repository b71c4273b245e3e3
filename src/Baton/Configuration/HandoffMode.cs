namespace Baton.Configuration;

/// <summary>How the front handed a connection to a worker. Values are on the wire.</summary>
public enum HandoffMode
{
    /// <summary>The worker gets the untouched TLS stream (ClientHello still unread) and runs the handshake.</summary>
    Passthrough = 1,

    /// <summary>The front completed the handshake; the worker resumes the record layer from the exported state.</summary>
    Handoff = 2,

    /// <summary>
    /// The front completes the handshake as in <see cref="Handoff"/> and hands the session to a relay worker, which
    /// connects to the pool's backend and relays plaintext both ways (any protocol, any server).
    /// </summary>
    Proxy = 3,
}
