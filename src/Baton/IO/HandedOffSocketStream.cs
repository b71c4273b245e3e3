using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Baton.IO;

/// <summary>
/// A handed-off client socket as the stream under a worker's TLS layer. Unlike NetworkStream, a
/// connection reset does not throw: the read returns 0 as at end of stream and
/// <see cref="ResetByPeer"/> says why. Clients reset all the time (a browser closing a tab, a client
/// that closes right after the response it waited for, before our close_notify arrives), and a
/// thrown SocketException costs a captured stack trace and an unwind through every async frame:
/// about a tenth of a worker's CPU per connection when each connection ended that way. Kestrel's
/// socket transport avoids it the same way, with a SocketAsyncEventArgs that returns the error.
/// Reads go through one reusable SocketAsyncEventArgs (no allocation per read); one read at a time.
/// </summary>
internal sealed class HandedOffSocketStream : DuplexStream
{
    private readonly Socket _socket;
    private readonly ReceiveEventArgs _receive = new();
    private int _disposed;

    public HandedOffSocketStream(Socket socket) => _socket = socket;

    /// <summary>True once a read saw the peer reset the connection; every later read returns 0.</summary>
    public override bool ResetByPeer => _resetByPeer;

    private bool _resetByPeer;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_resetByPeer) return ValueTask.FromResult(0);
        // The event args cannot be cancelled; a cancellable read (none on the hot path) takes the socket's own.
        if (cancellationToken.CanBeCanceled) return ReadCancellableAsync(buffer, cancellationToken);
        return _receive.ReceiveAsync(_socket, buffer, this);
    }

    private async ValueTask<int> ReadCancellableAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            _resetByPeer = true;
            return 0;
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            while (!buffer.IsEmpty)
            {
                int sent = await _socket.SendAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                buffer = buffer[sent..];
            }
        }
        catch (SocketException e)
        {
            // As NetworkStream does: callers look for the SocketException inside an IOException.
            throw new IOException(e.Message, e);
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            _receive.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>One receive at a time, completed as a ValueTask without allocating; a reset completes with 0.</summary>
    private sealed class ReceiveEventArgs : SocketAsyncEventArgs, IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _source;
        private HandedOffSocketStream? _owner;

        public ReceiveEventArgs() : base(unsafeSuppressExecutionContextFlow: true)
        {
        }

        public ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer, HandedOffSocketStream owner)
        {
            _source.Reset();
            _owner = owner;
            SetBuffer(buffer);
            if (!socket.ReceiveAsync(this))
                Complete();
            return new ValueTask<int>(this, _source.Version);
        }

        protected override void OnCompleted(SocketAsyncEventArgs e) => Complete();

        private void Complete()
        {
            switch (SocketError)
            {
                case SocketError.Success:
                    _source.SetResult(BytesTransferred);
                    break;
                case SocketError.ConnectionReset:
                    _owner!._resetByPeer = true;
                    _source.SetResult(0);
                    break;
                default:
                    var error = new SocketException((int)SocketError);
                    _source.SetException(new IOException(error.Message, error));
                    break;
            }
        }

        public int GetResult(short token) => _source.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _source.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _source.OnCompleted(continuation, state, token, flags);
    }
}
