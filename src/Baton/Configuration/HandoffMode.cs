namespace Baton.Configuration;

/// <summary>How the front handed a connection to a worker. Values are on the wire.</summary>
public enum HandoffMode
{
    /// <summary>The worker gets the untouched TLS stream (ClientHello still unread) and runs the handshake.</summary>
    Passthrough = 1,

    /// <summary>The front completed the handshake; the worker resumes the record layer from the exported state.</summary>
    Handoff = 2,
}
