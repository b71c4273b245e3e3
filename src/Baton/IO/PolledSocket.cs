using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Baton.IO;

/// <summary>
/// A client socket while the front inspects it: non-blocking recv/send on the raw descriptor with
/// readiness from <see cref="SocketPoller"/>, never .NET's async socket engine (see SocketPoller).
/// </summary>
internal sealed class PolledSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly SocketPoller _poller;
    private int _lowWatermark = 1;

    public PolledSocket(Socket socket, SocketPoller poller)
    {
        _socket = socket;
        _poller = poller;
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        LocalEndPoint = socket.LocalEndPoint as IPEndPoint;
    }

    public IPEndPoint? RemoteEndPoint { get; }
    public IPEndPoint? LocalEndPoint { get; }

    /// <summary>The descriptor that travels to the worker.</summary>
    public SafeHandle Handle => _socket.SafeHandle;

    /// <summary>
    /// Copies the bytes queued on the socket into <paramref name="buffer"/> without consuming them,
    /// waiting until more than <paramref name="alreadySeen"/> bytes are queued. Returns the queued
    /// count (capped by the buffer), or 0 when the peer closed (or reset) before sending more.
    /// </summary>
    /// <remarks>
    /// A non-blocking MSG_PEEK returns the same bytes again immediately, so waiting for "more" uses
    /// SO_RCVLOWAT: the kernel reports the socket readable only once that many bytes are queued.
    /// </remarks>
    public async ValueTask<int> PeekAsync(Memory<byte> buffer, int alreadySeen, CancellationToken cancellationToken)
    {
        bool peerClosed = false;
        while (true)
        {
            nint peeked = Interop.Libc.Recv(Handle, buffer.Span, Interop.Libc.MSG_PEEK | Interop.Libc.MSG_DONTWAIT, out int errno);
            if (peeked > alreadySeen || peeked == buffer.Length)
                return (int)peeked;
            if (peeked == 0)
                return 0;
            if (peeked < 0 && errno != Interop.EAGAIN)
                throw SocketErrors.FromErrno("recv", errno);
            if (peerClosed)
                return 0;
            SetLowWatermark(Math.Min(alreadySeen + 1, buffer.Length));
            uint events = await _poller.WaitAsync(Handle, writable: false, cancellationToken).ConfigureAwait(false);
            // After a FIN the socket stays readable with nothing new to peek: one more look, then give up.
            peerClosed = (events & (Interop.Libc.EPOLLRDHUP | Interop.Libc.EPOLLHUP | Interop.Libc.EPOLLERR)) != 0;
        }
    }

    /// <summary>Receives up to buffer.Length bytes; 0 means the peer closed.</summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        SetLowWatermark(1);
        while (true)
        {
            nint received = Interop.Libc.Recv(Handle, buffer.Span, Interop.Libc.MSG_DONTWAIT, out int errno);
            if (received >= 0)
                return (int)received;
            if (errno != Interop.EAGAIN)
                throw SocketErrors.FromErrno("recv", errno);
            await _poller.WaitAsync(Handle, writable: false, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            nint sent = Interop.Libc.Send(Handle, buffer.Span, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL, out int errno);
            if (sent >= 0)
            {
                buffer = buffer[(int)sent..];
                continue;
            }
            if (errno != Interop.EAGAIN)
                throw SocketErrors.FromErrno("send", errno);
            await _poller.WaitAsync(Handle, writable: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Shuts the sending side (FIN after what was sent); receiving goes on.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>
    /// Leaves the socket as the worker must find it: out of the front's epoll set and with the
    /// default receive low-water mark (socket options travel with the descriptor).
    /// </summary>
    public void PrepareForHandoff()
    {
        SetLowWatermark(1);
        _poller.Forget(Handle);
    }

    private void SetLowWatermark(int bytes)
    {
        if (bytes == _lowWatermark) return;
        Interop.Libc.SetSocketOptionInt(Handle, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVLOWAT, bytes);
        _lowWatermark = bytes;
    }

    public void Dispose()
    {
        _poller.Forget(Handle);
        _socket.Dispose();
    }
}
