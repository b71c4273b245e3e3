using System.Runtime.InteropServices;
using Baton.Channel;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int F_GETFD = 1;
        internal const int F_SETFD = 2;
        internal const int FD_CLOEXEC = 1;
        internal const int F_DUPFD_CLOEXEC = 1030;

        /// <summary>close(2). Never retried: on Linux the fd is released even when close reports EINTR,
        /// so a retry could close an fd another thread just opened.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);

        [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
        private static partial int FcntlRaw(int fd, int command, int argument);

        [LibraryImport(Libraries.Libc, EntryPoint = "getpid")]
        internal static partial int GetPid();

        [LibraryImport(Libraries.Libc, EntryPoint = "getppid")]
        internal static partial int GetParentPid();

        /// <summary>fcntl(2) with an int argument, retried on EINTR; throws on failure.</summary>
        internal static int Fcntl(int fd, int command, int argument)
        {
            int result;
            int errno;
            do
            {
                result = FcntlRaw(fd, command, argument);
                errno = result == -1 ? LastErrno : 0;
            }
            while (errno == EINTR);
            return result == -1 ? throw ErrnoException("fcntl", errno) : result;
        }

        /// <summary>Sets FD_CLOEXEC so the fd does not leak into processes this one spawns.</summary>
        internal static void SetCloseOnExec(int fd)
        {
            int flags = Fcntl(fd, F_GETFD, 0);
            if ((flags & FD_CLOEXEC) == 0)
            {
                Fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
            }
        }
    }
}
