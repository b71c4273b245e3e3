using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace Baton.Channel;

/// <summary>
/// One end of the front↔worker channel: a connected <c>socketpair(AF_UNIX, SOCK_SEQPACKET)</c> end.
/// Each message is one datagram (header + body) with at most one fd in SCM_RIGHTS; see docs/channel.md.
/// Thread-safety: sends are safe from any number of threads without a lock, because one sendmsg on a
/// SEQPACKET socket is one atomic record. Receive is meant for one dedicated thread. Dispose is idempotent
/// and wakes a blocked Receive, which then returns end-of-stream.
/// </summary>
internal sealed partial class ChannelSocket : IDisposable
{
    // The kernel doubles SO_SNDBUF and refuses (EMSGSIZE) a datagram larger than sk_sndbuf - 32;
    // two largest messages leave room for the skb overhead.
    private const int SocketBufferSize = 2 * ChannelHeader.MaxMessageLength;

    /// <summary>Largest body a message may carry; Receive's buffer should be this long.</summary>
    public const int MaxBodyLength = ChannelHeader.MaxBodyLength;

    private readonly SafeFdHandle _socket;
    private readonly ChannelRole _role;
    private int _disposed;

    private ChannelSocket(SafeFdHandle socket, ChannelRole role)
    {
        _socket = socket;
        _role = role;
    }

    /// <summary>The socket fd, for polling or SO_PEERCRED; owned by this object.</summary>
    public SafeFdHandle Handle => _socket;

    public ChannelRole Role => _role;

    /// <summary>Creates the pair: the front keeps the first end; the second is handed to a worker at spawn (dup2 to fd 3).
    /// Both ends are CLOEXEC; the spawner clears that on the worker's copy only.</summary>
    public static (ChannelSocket Front, SafeFdHandle WorkerEnd) CreatePair()
    {
        var (front, worker) = Interop.Libc.SocketPair(
            Interop.Libc.AF_UNIX, Interop.Libc.SOCK_SEQPACKET | Interop.Libc.SOCK_CLOEXEC);
        try
        {
            SizeBuffers(front);
            SizeBuffers(worker);
        }
        catch
        {
            front.Dispose();
            worker.Dispose();
            throw;
        }
        return (new ChannelSocket(front, ChannelRole.Front), worker);
    }

    /// <summary>Worker side: takes ownership of the channel fd inherited at spawn and marks it CLOEXEC.</summary>
    public static ChannelSocket FromInheritedFd(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        var socket = new SafeFdHandle(fd);
        try
        {
            Interop.Libc.SetCloseOnExec(fd);
            int type = Interop.Libc.GetSocketOptionInt32(socket, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_TYPE);
            if (type != Interop.Libc.SOCK_SEQPACKET)
            {
                throw new InvalidOperationException($"fd {fd} is not a SOCK_SEQPACKET socket (SO_TYPE {type}).");
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ChannelSocket(socket, ChannelRole.Worker);
    }

    /// <summary>The pid/uid/gid of the process at the other end (SO_PEERCRED).</summary>
    public (int Pid, uint Uid, uint Gid) GetPeerCredentials()
    {
        var credentials = Interop.Libc.GetPeerCredentials(_socket);
        return (credentials.Pid, credentials.Uid, credentials.Gid);
    }

    /// <summary>Sends without blocking. False when the peer's queue (or our send buffer) is full: pick another worker.
    /// Throws <see cref="ChannelClosedException"/> when the peer is gone.</summary>
    public bool TrySend(MessageType type, ulong connectionId, ReadOnlySpan<byte> body, SafeHandle? fd)
    {
        ValidateOutgoing(type, connectionId, body.Length, fd);
        int errno = SendCore(type, connectionId, body, fd, Interop.Libc.MSG_NOSIGNAL | Interop.Libc.MSG_DONTWAIT);
        return errno switch
        {
            0 => true,
            Interop.EAGAIN => false,
            _ => throw SendFailure(errno),
        };
    }

    /// <summary>Sends, blocking while the peer's queue is full (worker side: small Ready/Ack/Closed messages).</summary>
    public void Send(MessageType type, ulong connectionId, ReadOnlySpan<byte> body, SafeHandle? fd = null)
    {
        ValidateOutgoing(type, connectionId, body.Length, fd);
        int errno = SendCore(type, connectionId, body, fd, Interop.Libc.MSG_NOSIGNAL);
        if (errno != 0)
        {
            throw SendFailure(errno);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // close() does not wake a thread blocked in recvmsg, and the SafeHandle defers the close until that
        // call returns anyway; shutdown makes the blocked recvmsg return 0 (end-of-stream) right away.
        Interop.Libc.Shutdown(_socket, Interop.Libc.SHUT_RDWR);
        _socket.Dispose();
    }

    private void ValidateOutgoing(MessageType type, ulong connectionId, int bodyLength, SafeHandle? fd)
    {
        if (!MessageTypeRules.IsKnown(type) || MessageTypeRules.MayReceive(_role, type))
        {
            throw new ArgumentException($"The {_role} end cannot send {type}.", nameof(type));
        }
        if (MessageTypeRules.CarriesFd(type) != (fd is not null))
        {
            throw new ArgumentException(fd is null ? $"{type} needs an fd." : $"{type} cannot carry an fd.", nameof(fd));
        }
        if (MessageTypeRules.HasBody(type) ? bodyLength is 0 or > ChannelHeader.MaxBodyLength : bodyLength != 0)
        {
            throw new ArgumentException($"Body of {bodyLength} bytes is not valid for {type}.", nameof(bodyLength));
        }
        if ((connectionId != 0) != MessageTypeRules.HasConnectionId(type))
        {
            throw new ArgumentException($"Connection id {connectionId} is not valid for {type}.", nameof(connectionId));
        }
    }

    /// <summary>One sendmsg: header and body as two iovecs, the fd (if any) as one SCM_RIGHTS cmsg. Returns errno.</summary>
    private unsafe int SendCore(MessageType type, ulong connectionId, ReadOnlySpan<byte> body, SafeHandle? fd, int flags)
    {
        byte* header = stackalloc byte[ChannelHeader.Length];
        ChannelHeader.Write(new Span<byte>(header, ChannelHeader.Length), type, connectionId, body.Length);
        // ulong elements keep the control buffer aligned for cmsghdr.
        ulong* control = stackalloc ulong[Interop.Libc.CmsgSpace(sizeof(int)) / sizeof(ulong)];
        Interop.Libc.IoVec* iovecs = stackalloc Interop.Libc.IoVec[2];
        bool fdAdded = false;
        fixed (byte* bodyPointer = body)
        {
            try
            {
                iovecs[0] = new Interop.Libc.IoVec { Base = header, Length = ChannelHeader.Length };
                iovecs[1] = new Interop.Libc.IoVec { Base = bodyPointer, Length = (nuint)body.Length };
                var message = new Interop.Libc.MsgHdr { Iov = iovecs, IovLength = body.IsEmpty ? 1u : 2u };
                if (fd is not null)
                {
                    fd.DangerousAddRef(ref fdAdded);
                    WriteRightsMessage(control, (int)fd.DangerousGetHandle());
                    message.Control = control;
                    message.ControlLength = (nuint)Interop.Libc.CmsgSpace(sizeof(int));
                }
                nint sent = Interop.Libc.SendMessage(_socket, &message, flags, out int errno);
                if (sent >= 0 && sent != ChannelHeader.Length + body.Length)
                {
                    throw new InvalidOperationException($"sendmsg sent {sent} of {ChannelHeader.Length + body.Length} bytes on a SEQPACKET socket.");
                }
                return errno;
            }
            finally
            {
                if (fdAdded)
                {
                    fd!.DangerousRelease();
                }
            }
        }
    }

    private static unsafe void WriteRightsMessage(ulong* control, int fd)
    {
        var cmsg = (Interop.Libc.CmsgHdr*)control;
        cmsg->Length = (nuint)Interop.Libc.CmsgLen(sizeof(int));
        cmsg->Level = Interop.Libc.SOL_SOCKET;
        cmsg->Type = Interop.Libc.SCM_RIGHTS;
        *(int*)((byte*)control + Interop.Libc.CmsgAlign(sizeof(Interop.Libc.CmsgHdr))) = fd;
    }

    private static Exception SendFailure(int errno) => errno is Interop.Libc.EPIPE or Interop.Libc.ECONNRESET or Interop.Libc.ENOTCONN
        ? new ChannelClosedException("The channel peer is gone.", errno)
        : Interop.ErrnoException("sendmsg", errno);

    private static void SizeBuffers(SafeFdHandle socket)
    {
        Interop.Libc.SetSocketOptionInt32(socket, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_SNDBUF, SocketBufferSize);
        Interop.Libc.SetSocketOptionInt32(socket, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVBUF, SocketBufferSize);
        int granted = Interop.Libc.GetSocketOptionInt32(socket, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_SNDBUF);
        if (granted < ChannelHeader.MaxMessageLength + 4096)
        {
            throw new InvalidOperationException(
                $"SO_SNDBUF is {granted} bytes, too small for a {ChannelHeader.MaxMessageLength}-byte channel message (raise net.core.wmem_max).");
        }
    }
}
