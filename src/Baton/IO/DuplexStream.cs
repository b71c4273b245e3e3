namespace Baton.IO;

/// <summary>
/// The Stream plumbing of every stream TLS runs over or is here (the front's socket, a worker's handed-off
/// socket, the record layers): readable and writable, not seekable, the array overloads routed to the Memory
/// ones. Subclasses implement ReadAsync/WriteAsync(Memory), flushing and disposal.
/// </summary>
internal abstract class DuplexStream : Stream
{
    /// <summary>
    /// True once a read ended because the peer reset the connection: such streams return 0 as at end of stream
    /// instead of throwing (a reset is routine, a thrown exception per connection is not cheap).
    /// </summary>
    public virtual bool ResetByPeer => false;

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
