using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int EPOLL_CLOEXEC = 0x80000;
        internal const int EPOLL_CTL_ADD = 1;
        internal const int EPOLL_CTL_DEL = 2;
        internal const int EPOLL_CTL_MOD = 3;
        internal const uint EPOLLIN = 0x001;
        internal const uint EPOLLOUT = 0x004;
        internal const uint EPOLLERR = 0x008;
        internal const uint EPOLLHUP = 0x010;
        internal const uint EPOLLRDHUP = 0x2000;
        internal const uint EPOLLONESHOT = 1u << 30;

        internal const int EFD_CLOEXEC = 0x80000;
        internal const int EFD_NONBLOCK = 0x800;

        /// <summary>
        /// struct epoll_event is packed on x86_64 (12 bytes, data at offset 4) and naturally
        /// aligned elsewhere (16 bytes, data at offset 8).
        /// </summary>
        internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
        internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
        internal static partial int EpollCreate1(int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* eventBuffer);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);

        [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
        internal static partial int EventFd(uint initial, int flags);

        /// <summary>epoll_ctl with an epoll_event laid out for this architecture.</summary>
        internal static unsafe int EpollControl(int epfd, int op, int fd, uint events, ulong data)
        {
            byte* buffer = stackalloc byte[16];
            *(uint*)buffer = events;
            *(ulong*)(buffer + EpollDataOffset) = data;
            return EpollCtl(epfd, op, fd, buffer);
        }
    }
}
