using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Baton.IO;

/// <summary>
/// A client connection handed to a worker, as the stream under the worker's TLS layer: the raw descriptor, read and
/// written with non-blocking recv/send, waiting for readiness in the worker's <see cref="ReadinessLoop"/>. No .NET
/// <c>Socket</c> is built for it (see ReadinessLoop for what that cost per connection).
/// <para>
/// A connection reset does not throw: the read returns 0 as at end of stream and <see cref="ResetByPeer"/> says why.
/// Clients reset all the time (a browser closing a tab, a client that closes right after the response, before our
/// close_notify arrives), and a thrown exception per connection costs a stack trace and an unwind through every async
/// frame, as Kestrel's socket transport also avoids. A zero-byte read waits until data (or the end) is there without
/// taking any, as on a .NET socket. One read and one write at a time.
/// </para>
/// <para>
/// A zero-byte read makes no syscall. A receive that returned less than it asked for (or would have blocked) left
/// the socket drained, and the registration is edge-triggered: every arrival after the attempt began marks the read
/// direction ready. So a zero-byte read returns at once unless the last receive drained the socket and no edge came
/// since; then it waits for the next edge. The peer's FIN is the exception, as nginx's pending_eof: a short receive can
/// take the last bytes and leave the end, whose edge it consumed, so once the loop saw the peer close, a zero-byte read
/// returns at once. Peeking (MSG_PEEK) instead cost one or two recv calls per keep-alive
/// request.
/// </para>
/// </summary>
internal sealed partial class HandedOffSocket : DuplexStream
{
    private readonly ReadinessLoop.Readiness _readiness;
    private SafeHandle _handle;
    /// <summary>Kernel TLS: the .NET socket that owns the descriptor now.</summary>
    private Socket? _detached;
    private bool _resetByPeer;
    /// <summary>The last receive took all there was; true at first, when the registration's first edge says what is there.</summary>
    private bool _drained = true;
    private int _disposed;

    /// <param name="socket">The descriptor, which this stream now owns.</param>
    public HandedOffSocket(SafeFdHandle socket, ReadinessLoop loop)
    {
        _handle = socket;
        _readiness = loop.Register(socket);
    }

    /// <summary>The descriptor (to send it back to the front, to set options on it).</summary>
    public SafeHandle Handle => _handle;

    /// <summary>True once a read saw the peer reset the connection; every later read returns 0.</summary>
    public override bool ResetByPeer => _resetByPeer;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            if (_resetByPeer) return ValueTask.FromResult(0);
            if (buffer.IsEmpty) return WaitForDataAsync(cancellationToken);
            _readiness.BeforeAttempt(write: false);
            return TryReceive(buffer.Span, out int received) ? ValueTask.FromResult(received) : ReceiveWhenReadyAsync(buffer, cancellationToken);
        }
        catch (IOException e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    // Pooled: an idle keep-alive connection comes here once per request.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveWhenReadyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _readiness.WaitAsync(write: false, cancellationToken).ConfigureAwait(false);
            _readiness.BeforeAttempt(write: false);
            if (TryReceive(buffer.Span, out int received)) return received;
        }
    }

    /// <summary>The zero-byte read: at once while bytes may be left, else at the next edge (data, the end, an error).</summary>
    private ValueTask<int> WaitForDataAsync(CancellationToken cancellationToken)
    {
        if (!_drained || _readiness.PeerClosed) return ValueTask.FromResult(0);
        ValueTask wait;
        try
        {
            wait = _readiness.WaitAsync(write: false, cancellationToken);
        }
        catch (ObjectDisposedException e)
        {
            return ValueTask.FromException<int>(e);
        }
        return wait.IsCompletedSuccessfully ? ValueTask.FromResult(0) : ZeroAfterAsync(wait);
    }

    // Pooled: an idle keep-alive connection comes here once per request.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ZeroAfterAsync(ValueTask wait)
    {
        await wait.ConfigureAwait(false);
        return 0;
    }

    /// <summary>False when nothing is there yet.</summary>
    private bool TryReceive(Span<byte> buffer, out int received)
    {
        nint result = Interop.Libc.Recv(_handle, buffer, Interop.Libc.MSG_DONTWAIT, out int errno);
        received = result > 0 ? (int)result : 0;
        // A short receive took everything queued; a full one may have left bytes that no new edge will announce.
        _drained = result < buffer.Length;
        if (result >= 0) return true;
        if (errno == Interop.EAGAIN) return false;
        if (errno != Interop.Libc.ECONNRESET) throw Failure("recv", errno);
        _resetByPeer = true;
        return true;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            return TrySend(ref buffer) ? ValueTask.CompletedTask : SendWhenReadyAsync(buffer, cancellationToken);
        }
        catch (IOException e)
        {
            return ValueTask.FromException(e);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendWhenReadyAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        do await _readiness.WaitAsync(write: true, cancellationToken).ConfigureAwait(false);
        while (!TrySend(ref buffer));
    }

    /// <summary>Sends until done (true) or the socket's buffer is full (false, <paramref name="buffer"/> holds the rest).</summary>
    private bool TrySend(ref ReadOnlyMemory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            _readiness.BeforeAttempt(write: true);
            nint sent = Interop.Libc.Send(_handle, buffer.Span, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL, out int errno);
            if (sent >= 0)
                buffer = buffer[(int)sent..];
            else if (errno == Interop.EAGAIN)
                return false;
            else
                throw Failure("send", errno);
        }
        return true;
    }

    /// <summary>shutdown(2) as <see cref="Socket.Shutdown"/> does it: ENOTCONN (the peer reset) is not an error.</summary>
    public void Shutdown(SocketShutdown how)
    {
        if (_detached is not null)
        {
            _detached.Shutdown(how);
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int errno = Interop.Libc.Shutdown(_handle, how switch
        {
            SocketShutdown.Send => Interop.Libc.SHUT_WR,
            SocketShutdown.Both => Interop.Libc.SHUT_RDWR,
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        });
        if (errno != 0 && errno != Interop.Libc.ENOTCONN) throw SocketErrors.FromErrno("shutdown", errno);
    }

    /// <summary>SO_LINGER with a zero timeout: closing then resets the connection (RST) instead of a FIN.</summary>
    public void ResetOnClose()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Interop.Libc.SetResetOnClose(_handle);
    }

    /// <summary>
    /// Kernel TLS: the descriptor as a .NET <see cref="Socket"/>, which owns it from now on (the kernel record backend
    /// reads and writes it); this object only shuts it down after that. Call before any read or write.
    /// </summary>
    public Socket DetachToSocket()
    {
        _readiness.Dispose();
        var socket = new Socket(new SafeSocketHandle(((SafeFdHandle)_handle).DetachFd(), ownsHandle: true));
        _handle = socket.SafeHandle;
        _detached = socket;
        return socket;
    }

    private static IOException Failure(string call, int errno)
    {
        // As NetworkStream does: callers look for the SocketException inside an IOException.
        SocketException error = SocketErrors.FromErrno(call, errno);
        return new IOException(error.Message, error);
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0 && _detached is null)
        {
            // Out of the epoll set first: the descriptor number is free again once it is closed.
            _readiness.Dispose();
            _handle.Dispose();
        }
        base.Dispose(disposing);
    }
}
