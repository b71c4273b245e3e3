using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int MSG_PEEK = 0x02;
        internal const int SO_RCVLOWAT = 18;

        [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
        private static unsafe partial nint RecvRaw(SafeHandle socket, byte* buffer, nuint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "send", SetLastError = true)]
        private static unsafe partial nint SendRaw(SafeHandle socket, byte* buffer, nuint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        private static unsafe partial nint ReadRaw(int fd, byte* buffer, nuint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        private static unsafe partial nint WriteRaw(int fd, byte* buffer, nuint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        private static unsafe partial int SetSockOptRaw(SafeHandle socket, int level, int name, void* value, uint length);

        /// <summary>recv(2) retried on EINTR: byte count, 0 at end of stream, or -1 with errno.</summary>
        internal static unsafe nint Recv(SafeHandle socket, Span<byte> buffer, int flags, out int errno)
        {
            nint result;
            fixed (byte* p = buffer)
            {
                do
                {
                    result = RecvRaw(socket, p, (nuint)buffer.Length, flags);
                    errno = result < 0 ? LastErrno : 0;
                }
                while (errno == EINTR);
            }
            return result;
        }

        /// <summary>send(2) retried on EINTR: byte count or -1 with errno.</summary>
        internal static unsafe nint Send(SafeHandle socket, ReadOnlySpan<byte> buffer, int flags, out int errno)
        {
            nint result;
            fixed (byte* p = buffer)
            {
                do
                {
                    result = SendRaw(socket, p, (nuint)buffer.Length, flags);
                    errno = result < 0 ? LastErrno : 0;
                }
                while (errno == EINTR);
            }
            return result;
        }

        internal static unsafe void SetSocketOptionInt(SafeHandle socket, int level, int name, int value)
        {
            ThrowIfMinusOne(SetSockOptRaw(socket, level, name, &value, sizeof(int)), "setsockopt");
        }

        /// <summary>Adds one to an eventfd counter (used to wake a thread blocked in epoll_wait).</summary>
        internal static unsafe void EventFdSignal(int fd)
        {
            ulong one = 1;
            while (WriteRaw(fd, (byte*)&one, sizeof(ulong)) < 0 && LastErrno == EINTR) { }
        }

        internal static unsafe void EventFdDrain(int fd)
        {
            ulong value;
            while (ReadRaw(fd, (byte*)&value, sizeof(ulong)) < 0 && LastErrno == EINTR) { }
        }
    }
}
