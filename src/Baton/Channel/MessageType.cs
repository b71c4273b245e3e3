namespace Baton.Channel;

/// <summary>Channel message types. Values are on the wire: never renumber.</summary>
internal enum MessageType : ushort
{
    /// <summary>Front → worker, once after spawn: <see cref="WorkerSettings"/> body, no fd, connection id 0.</summary>
    Configure = 1,

    /// <summary>Front → worker: <see cref="ConnectionFacts"/> body and exactly one fd (the client socket).</summary>
    Connection = 2,

    /// <summary>Worker → front: configured and accepting connections. Empty body, connection id 0.</summary>
    Ready = 3,

    /// <summary>Worker → front: took the connection; the front may close its copy of the fd. Empty body.</summary>
    Ack = 4,

    /// <summary>Worker → front: the connection ended (outstanding count for balancing). Empty body.</summary>
    Closed = 5,

    /// <summary>Worker → front: draining, will not serve this connection; the front still holds the fd,
    /// hands it to another worker and sends this one no more (it treats Rejected as "draining").</summary>
    Rejected = 6,

    /// <summary>Front → worker: are you there? Empty body; the connection-id field carries the ping's number (≥ 1).
    /// The front sends one at a time and kills a worker that does not answer within Limits:WorkerResponseTimeout.</summary>
    Ping = 7,

    /// <summary>Worker → front: the answer to the Ping whose number it carries. Empty body. Sent through the worker's
    /// thread pool, so a worker whose thread pool runs nothing does not answer.</summary>
    Pong = 8,

    /// <summary>Front → passthrough worker, on reload: <see cref="CertificateUpdate"/> body (the new certificates and
    /// keys), no fd, connection id 0. Connections received after it are served with the new certificates.</summary>
    Certificates = 9,

    /// <summary>Front → passthrough worker: <see cref="TicketKeysUpdate"/> body, the front's current ticket-key ring,
    /// sent whenever it changes (rotation, a key past its window, reload) and to a worker that has an older one. Connection id 0.</summary>
    TicketKeys = 10,

    /// <summary>Worker → front (handback): a live handoff connection goes back at a request boundary. Exactly one fd;
    /// body: <see cref="ConnectionFacts"/> in handoff mode with the session as it is now and the unserved bytes.
    /// The worker keeps its copy until the front's <see cref="HandbackAck"/>.</summary>
    Handback = 11,

    /// <summary>Front → worker: the front holds the handed-back connection; the worker closes its copy (no FIN). Empty body.</summary>
    HandbackAck = 12,

    /// <summary>Front → worker: this worker's generation is being replaced; take no new work and hand back or close
    /// what it serves at the next request boundary, then exit when empty. Empty body, connection id 0.</summary>
    Drain = 13,

    /// <summary>Front → handoff worker, on reload: <see cref="RoutesUpdate"/> body, the routes its gates and its 421 filter
    /// use for the requests that follow. No fd, connection id 0.</summary>
    Routes = 14,
}

/// <summary>Which end of the channel a <see cref="ChannelSocket"/> is; decides which types it may send and receive.</summary>
internal enum ChannelRole
{
    Front,
    Worker,
}

internal static class MessageTypeRules
{
    public static bool IsKnown(MessageType type) => type is >= MessageType.Configure and <= MessageType.Pong
        or MessageType.Certificates or MessageType.TicketKeys or MessageType.Handback or MessageType.HandbackAck or MessageType.Drain
        or MessageType.Routes;

    public static bool IsFrontToWorker(MessageType type) => type is MessageType.Configure or MessageType.Connection or MessageType.Ping
        or MessageType.Certificates or MessageType.TicketKeys or MessageType.HandbackAck or MessageType.Drain or MessageType.Routes;

    /// <summary>True when a socket playing <paramref name="receiver"/> may receive <paramref name="type"/>.</summary>
    public static bool MayReceive(ChannelRole receiver, MessageType type) =>
        IsFrontToWorker(type) == (receiver == ChannelRole.Worker);

    public static bool CarriesFd(MessageType type) => type is MessageType.Connection or MessageType.Handback;

    public static bool HasBody(MessageType type) =>
        type is MessageType.Configure or MessageType.Connection or MessageType.Certificates or MessageType.TicketKeys or MessageType.Handback
            or MessageType.Routes;

    /// <summary>Configure, Ready, Certificates, TicketKeys, Drain and Routes are about the channel, every other type about one connection
    /// (ids start at 1); Ping and Pong carry the ping's number (from 1) in the same field.</summary>
    public static bool HasConnectionId(MessageType type) =>
        type is not (MessageType.Configure or MessageType.Ready or MessageType.Certificates or MessageType.TicketKeys or MessageType.Drain
            or MessageType.Routes);
}
