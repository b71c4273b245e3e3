using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // Linux uapi values (x86_64 and arm64 agree), for the relay's own non-blocking connects.
        internal const int SOCK_NONBLOCK = 0x800;
        internal const int SO_ERROR = 4;
        internal const int SO_LINGER = 13;
        internal const int IPPROTO_TCP = 6;
        internal const int TCP_NODELAY = 1;
        internal const int EINPROGRESS = 115;
        internal const int ECONNREFUSED = 111;

        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        private static partial int SocketRaw(int domain, int type, int protocol);

        [LibraryImport(Libraries.Libc, EntryPoint = "connect", SetLastError = true)]
        private static unsafe partial int ConnectRaw(SafeHandle socket, byte* address, uint length);

        /// <summary>A non-blocking, close-on-exec stream socket of <paramref name="domain"/>.</summary>
        internal static SafeFdHandle StreamSocket(int domain)
        {
            int fd = SocketRaw(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ThrowIfMinusOne(fd, "socket");
            return new SafeFdHandle(fd);
        }

        /// <summary>
        /// connect(2) on a non-blocking socket: 0 once connected, EINPROGRESS while the handshake runs (an EINTR means
        /// the same: the connect goes on, and retrying it would only say EALREADY), else the errno.
        /// </summary>
        internal static unsafe int Connect(SafeHandle socket, ReadOnlySpan<byte> address)
        {
            fixed (byte* sockaddr = address)
            {
                if (ConnectRaw(socket, sockaddr, (uint)address.Length) == 0)
                    return 0;
            }
            int errno = LastErrno;
            return errno == EINTR ? EINPROGRESS : errno;
        }

        /// <summary>SO_ERROR: how a non-blocking connect ended (0: connected).</summary>
        internal static unsafe int PendingSocketError(SafeHandle socket)
        {
            int value = 0;
            uint length = sizeof(int);
            ThrowIfMinusOne(GetSockOptRaw(socket, SOL_SOCKET, SO_ERROR, &value, &length), "getsockopt");
            return value;
        }

        /// <summary>SO_LINGER on with a zero timeout: close(2) then resets the connection instead of a FIN.</summary>
        internal static unsafe void SetResetOnClose(SafeHandle socket)
        {
            var linger = new Linger { OnOff = 1, Seconds = 0 };
            ThrowIfMinusOne(SetSockOptRaw(socket, SOL_SOCKET, SO_LINGER, &linger, (uint)sizeof(Linger)), "setsockopt");
        }

        /// <summary>struct linger.</summary>
        [StructLayout(LayoutKind.Sequential)]
        private struct Linger
        {
            public int OnOff;
            public int Seconds;
        }
    }
}
