namespace Baton.Tls.Records;

/// <summary>
/// A handed-off session's stream, whichever layer seals its records (user space or the kernel): what
/// the transport needs to report the session and end it with close_notify, and the Stream plumbing
/// both layers share (duplex, not seekable, array overloads over the Memory ones).
/// </summary>
internal abstract class RecordLayerStream : Stream
{
    /// <summary>0x0303 or 0x0304.</summary>
    public abstract ushort ProtocolVersion { get; }

    /// <summary>The IANA cipher suite id.</summary>
    public abstract ushort CipherSuite { get; }

    /// <summary>Sends close_notify (once).</summary>
    public abstract Task ShutdownAsync(CancellationToken cancellationToken = default);

    public sealed override bool CanRead => true;

    public sealed override bool CanWrite => true;

    public sealed override bool CanSeek => false;

    public sealed override long Length => throw new NotSupportedException();

    public sealed override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public sealed override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public sealed override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();
}
