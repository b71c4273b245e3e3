using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using Baton.Channel;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // Values from the Linux uapi headers; x86_64 and arm64 (asm-generic) agree on all of them.
        internal const int AF_UNIX = 1;
        internal const int SOCK_SEQPACKET = 5;
        internal const int SOCK_CLOEXEC = 0x80000;
        internal const int SOL_SOCKET = 1;
        internal const int SO_REUSEADDR = 2;
        internal const int SO_TYPE = 3;
        internal const int SO_SNDBUF = 7;
        internal const int SO_RCVBUF = 8;
        internal const int SO_REUSEPORT = 15;
        internal const int SO_PASSCRED = 16;
        internal const int SO_PEERCRED = 17;
        internal const int SCM_RIGHTS = 1;
        internal const int MSG_CTRUNC = 0x8;
        internal const int MSG_TRUNC = 0x20;
        internal const int MSG_DONTWAIT = 0x40;
        internal const int MSG_NOSIGNAL = 0x4000;
        internal const int MSG_CMSG_CLOEXEC = 0x40000000;
        internal const int SHUT_WR = 1;
        internal const int SHUT_RDWR = 2;
        internal const int EPIPE = 32;
        internal const int ENETUNREACH = 101;
        internal const int ECONNABORTED = 103;
        internal const int ECONNRESET = 104;
        internal const int ENOTCONN = 107;
        internal const int ETIMEDOUT = 110;
        internal const int EHOSTUNREACH = 113;

        /// <summary>struct iovec (glibc, LP64).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct IoVec
        {
            public void* Base;
            public nuint Length;
        }

        /// <summary>struct msghdr (glibc, LP64): 56 bytes, 4 bytes of padding after msg_namelen and msg_flags.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct MsgHdr
        {
            public void* Name;
            public uint NameLength;
            public IoVec* Iov;
            public nuint IovLength;
            public void* Control;
            public nuint ControlLength;
            public int Flags;
        }

        /// <summary>struct cmsghdr (glibc, LP64): cmsg_len is size_t, so the header is 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct CmsgHdr
        {
            public nuint Length;
            public int Level;
            public int Type;
        }

        /// <summary>struct ucred from SO_PEERCRED.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct UCred
        {
            public int Pid;
            public uint Uid;
            public uint Gid;
        }

        /// <summary>CMSG_ALIGN: control data is aligned to sizeof(size_t).</summary>
        internal static int CmsgAlign(int length) => (length + nint.Size - 1) & ~(nint.Size - 1);

        /// <summary>CMSG_LEN: the cmsg_len value for <paramref name="dataLength"/> bytes of data.</summary>
        internal static unsafe int CmsgLen(int dataLength) => CmsgAlign(sizeof(CmsgHdr)) + dataLength;

        /// <summary>CMSG_SPACE: bytes a control message with <paramref name="dataLength"/> bytes occupies in the buffer.</summary>
        internal static unsafe int CmsgSpace(int dataLength) => CmsgAlign(dataLength) + CmsgAlign(sizeof(CmsgHdr));

        [LibraryImport(Libraries.Libc, EntryPoint = "socketpair", SetLastError = true)]
        private static unsafe partial int SocketPairRaw(int domain, int type, int protocol, int* fds);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
        private static unsafe partial nint SendMsgRaw(SafeFdHandle socket, MsgHdr* message, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        private static unsafe partial nint RecvMsgRaw(SafeFdHandle socket, MsgHdr* message, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "shutdown", SetLastError = true)]
        private static partial int ShutdownRaw(SafeHandle socket, int how);

        [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
        private static unsafe partial int GetSockOptRaw(SafeHandle socket, int level, int name, void* value, uint* length);

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        private static unsafe partial int SetSockOptRaw(SafeFdHandle socket, int level, int name, void* value, uint length);

        /// <summary>socketpair(2); both fds are owned by the returned handles.</summary>
        internal static unsafe (SafeFdHandle First, SafeFdHandle Second) SocketPair(int domain, int type)
        {
            int* fds = stackalloc int[2];
            ThrowIfMinusOne(SocketPairRaw(domain, type, 0, fds), "socketpair");
            return (new SafeFdHandle(fds[0]), new SafeFdHandle(fds[1]));
        }

        /// <summary>sendmsg(2) retried on EINTR; returns the byte count, or -1 with <paramref name="errno"/> set.</summary>
        internal static unsafe nint SendMessage(SafeFdHandle socket, MsgHdr* message, int flags, out int errno)
        {
            nint result;
            do
            {
                result = SendMsgRaw(socket, message, flags);
                errno = result < 0 ? LastErrno : 0;
            }
            while (errno == EINTR);
            return result;
        }

        /// <summary>recvmsg(2) retried on EINTR; returns the byte count, or -1 with <paramref name="errno"/> set.</summary>
        internal static unsafe nint ReceiveMessage(SafeFdHandle socket, MsgHdr* message, int flags, out int errno)
        {
            nint result;
            do
            {
                result = RecvMsgRaw(socket, message, flags);
                errno = result < 0 ? LastErrno : 0;
            }
            while (errno == EINTR);
            return result;
        }

        /// <summary>shutdown(2); returns errno (0 on success) because callers on a closing path only log it.</summary>
        internal static int Shutdown(SafeHandle socket, int how) =>
            ShutdownRaw(socket, how) == 0 ? 0 : LastErrno;

        internal static unsafe int GetSocketOptionInt32(SafeFdHandle socket, int level, int name)
        {
            int value = 0;
            uint length = sizeof(int);
            ThrowIfMinusOne(GetSockOptRaw(socket, level, name, &value, &length), "getsockopt");
            return value;
        }

        internal static unsafe void SetSocketOptionInt32(SafeFdHandle socket, int level, int name, int value) =>
            ThrowIfMinusOne(SetSockOptRaw(socket, level, name, &value, sizeof(int)), "setsockopt");

        internal static unsafe UCred GetPeerCredentials(SafeHandle socket)
        {
            UCred credentials = default;
            uint length = (uint)sizeof(UCred);
            ThrowIfMinusOne(GetSockOptRaw(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length), "getsockopt(SO_PEERCRED)");
            return credentials;
        }
    }
}
