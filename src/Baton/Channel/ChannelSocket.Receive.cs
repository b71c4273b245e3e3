using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace Baton.Channel;

internal sealed partial class ChannelSocket
{
    // Room for four fds: enough to see (and close) a message that carries "more than one" without MSG_CTRUNC.
    // Fds beyond that are dropped by the kernel (MSG_CTRUNC), never installed in this process.
    private const int ControlCapacityFds = 4;

    /// <summary>
    /// Blocks until one message arrives and validates it (docs/channel.md). Returns end-of-stream when the peer
    /// closed or this end was disposed. <paramref name="bodyBuffer"/> should hold <see cref="ChannelHeader.MaxBodyLength"/>
    /// bytes; a longer message is refused as truncated. Throws <see cref="ChannelProtocolException"/> for a malformed
    /// message, after closing every fd it carried.
    /// </summary>
    public unsafe ReceivedMessage Receive(Span<byte> bodyBuffer)
    {
        byte* header = stackalloc byte[ChannelHeader.Length];
        int controlLength = Interop.Libc.CmsgSpace(ControlCapacityFds * sizeof(int));
        ulong* control = stackalloc ulong[controlLength / sizeof(ulong)];
        Interop.Libc.IoVec* iovecs = stackalloc Interop.Libc.IoVec[2];
        Interop.Libc.MsgHdr message;
        nint received;
        fixed (byte* bodyPointer = bodyBuffer)
        {
            iovecs[0] = new Interop.Libc.IoVec { Base = header, Length = ChannelHeader.Length };
            iovecs[1] = new Interop.Libc.IoVec { Base = bodyPointer, Length = (nuint)bodyBuffer.Length };
            message = new Interop.Libc.MsgHdr
            {
                Iov = iovecs,
                IovLength = 2,
                Control = control,
                ControlLength = (nuint)controlLength,
            };
            int errno;
            try
            {
                received = Interop.Libc.ReceiveMessage(_socket, &message, Interop.Libc.MSG_CMSG_CLOEXEC, out errno);
            }
            catch (ObjectDisposedException)
            {
                // Disposed before the call took its reference on the socket (during the call, shutdown ends it with 0).
                return ReceivedMessage.EndOfStream;
            }
            if (received < 0)
            {
                return errno == Interop.Libc.ECONNRESET ? ReceivedMessage.EndOfStream : throw Interop.ErrnoException("recvmsg", errno);
            }
        }

        Span<int> fds = stackalloc int[ControlCapacityFds];
        ChannelError controlError = CollectFds(new ReadOnlySpan<byte>(control, (int)message.ControlLength), fds, out int fdCount);
        if (received == 0 && fdCount == 0 && controlError == ChannelError.None
            && (message.Flags & (Interop.Libc.MSG_TRUNC | Interop.Libc.MSG_CTRUNC)) == 0)
        {
            // A SEQPACKET read of 0 bytes is end-of-stream (the protocol never sends empty messages).
            return ReceivedMessage.EndOfStream;
        }

        var headerSpan = new ReadOnlySpan<byte>(header, ChannelHeader.Length);
        // MSG_CTRUNC with no descriptor installed: the kernel could not give this process the fd (EMFILE, at its
        // RLIMIT_NOFILE) and dropped it; the sender still has its copy. A peer sending too many fds fills the buffer instead.
        bool fdDropped = (message.Flags & Interop.Libc.MSG_CTRUNC) != 0 && fdCount == 0 && controlError == ChannelError.None;
        ChannelError error = Validate(headerSpan, (int)received, message.Flags, controlError, fdCount, fdDropped);
        if (error != ChannelError.None)
        {
            CloseAll(fds[..fdCount]);
            throw new ChannelProtocolException(error);
        }
        return ReceivedMessage.Create(
            ChannelHeader.ReadType(headerSpan),
            ChannelHeader.ReadConnectionId(headerSpan),
            (int)received - ChannelHeader.Length,
            fdCount == 1 ? new SafeFdHandle(fds[0]) : null,
            fdDropped);
    }

    private ChannelError Validate(ReadOnlySpan<byte> header, int received, int flags, ChannelError controlError, int fdCount, bool fdDropped)
    {
        if ((flags & Interop.Libc.MSG_CTRUNC) != 0 && !fdDropped) return ChannelError.ControlTruncated;
        if (controlError != ChannelError.None) return controlError;
        if (received < ChannelHeader.Length) return ChannelError.ShortMessage;
        bool truncated = (flags & Interop.Libc.MSG_TRUNC) != 0;
        ChannelError headerError = ChannelHeader.Validate(header, _role, received - ChannelHeader.Length, truncated);
        if (headerError != ChannelError.None) return headerError;
        if (fdCount > 1) return ChannelError.TooManyFds;
        bool needsFd = MessageTypeRules.CarriesFd(ChannelHeader.ReadType(header));
        // A dropped fd is only a Connection the receiver cannot take; on any other type it was never allowed.
        if (fdDropped) return needsFd ? ChannelError.None : ChannelError.ControlTruncated;
        if (needsFd && fdCount == 0) return ChannelError.MissingFd;
        if (!needsFd && fdCount != 0) return ChannelError.UnexpectedFd;
        return ChannelError.None;
    }

    /// <summary>
    /// Walks every cmsg (CMSG_FIRSTHDR/CMSG_NXTHDR) and copies out every fd of every SCM_RIGHTS cmsg, even after
    /// finding a problem, so the caller can close them all. Returns the first problem found.
    /// </summary>
    private static unsafe ChannelError CollectFds(ReadOnlySpan<byte> control, Span<int> fds, out int fdCount)
    {
        fdCount = 0;
        ChannelError error = ChannelError.None;
        int headerSize = Interop.Libc.CmsgAlign(sizeof(Interop.Libc.CmsgHdr));
        int offset = 0;
        while (offset + sizeof(Interop.Libc.CmsgHdr) <= control.Length)
        {
            var cmsg = MemoryMarshal.Read<Interop.Libc.CmsgHdr>(control[offset..]);
            if (cmsg.Length < (nuint)headerSize)
            {
                return First(error, ChannelError.BadControlLength);
            }
            // With MSG_CTRUNC the kernel may report a cmsg_len that runs past the buffer; only what is in it counts.
            int length = (int)Math.Min(cmsg.Length, (nuint)(control.Length - offset));
            ReadOnlySpan<byte> data = control.Slice(offset + headerSize, length - headerSize);
            if (cmsg.Level != Interop.Libc.SOL_SOCKET || cmsg.Type != Interop.Libc.SCM_RIGHTS)
            {
                error = First(error, ChannelError.UnexpectedControlMessage);
            }
            else
            {
                if (data.Length % sizeof(int) != 0 || data.Length == 0)
                {
                    error = First(error, ChannelError.BadControlLength);
                }
                for (int i = 0; i + sizeof(int) <= data.Length && fdCount < fds.Length; i += sizeof(int))
                {
                    fds[fdCount++] = MemoryMarshal.Read<int>(data[i..]);
                }
            }
            offset += Interop.Libc.CmsgAlign(length);
        }
        return error;
    }

    private static ChannelError First(ChannelError current, ChannelError found) =>
        current == ChannelError.None ? found : current;

    private static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (int fd in fds)
        {
            Interop.Libc.Close(fd);
        }
    }
}
