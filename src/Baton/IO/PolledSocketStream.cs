
namespace Baton.IO;

/// <summary>
/// A <see cref="Stream"/> over a <see cref="PolledSocket"/>, so the front can run OpenSSL over the
/// client socket without registering it in .NET's socket engine. It never closes the socket: the
/// descriptor outlives the stream and travels to a worker.
/// </summary>
internal sealed class PolledSocketStream : DuplexStream
{
    private readonly PolledSocket _socket;

    public PolledSocketStream(PolledSocket socket) => _socket = socket;

    /// <summary>
    /// A zero-byte read (OpenSslStream's wait for an idle connection) returns at once without a syscall: the
    /// front reads only while a handshake or a request head is in progress, when waiting without a buffer buys nothing.
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        buffer.IsEmpty ? ValueTask.FromResult(0) : _socket.ReceiveAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _socket.SendAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }
}
