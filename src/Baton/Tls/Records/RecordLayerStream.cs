namespace Baton.Tls.Records;

/// <summary>
/// A handed-off session's stream, whichever layer seals its records (user space or the kernel): what
/// the transport needs to report the session and end it with close_notify.
/// </summary>
internal abstract class RecordLayerStream : DuplexStream
{
    /// <summary>0x0303 or 0x0304.</summary>
    public abstract ushort ProtocolVersion { get; }

    /// <summary>The IANA cipher suite id.</summary>
    public abstract ushort CipherSuite { get; }

    /// <summary>Sends close_notify (once).</summary>
    public abstract Task ShutdownAsync(CancellationToken cancellationToken = default);
}
