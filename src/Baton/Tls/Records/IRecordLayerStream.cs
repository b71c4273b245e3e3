namespace Baton.Tls.Records;

/// <summary>
/// A handed-off session's stream, whichever layer seals its records (user space or the kernel):
/// what the transport needs to report the session and to end it with close_notify.
/// </summary>
internal interface IRecordLayerStream
{
    /// <summary>0x0303 or 0x0304.</summary>
    ushort ProtocolVersion { get; }

    /// <summary>The IANA cipher suite id.</summary>
    ushort CipherSuite { get; }

    /// <summary>Sends close_notify.</summary>
    Task ShutdownAsync(CancellationToken cancellationToken = default);
}
