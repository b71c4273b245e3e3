using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SIGHUP = 1;
        internal const int SIGKILL = 9;
        internal const int SIGPIPE = 13;
        internal const int SIGTERM = 15;
        internal const int WNOHANG = 1;

        internal const short POSIX_SPAWN_SETPGROUP = 0x02;
        internal const short POSIX_SPAWN_SETSIGDEF = 0x04;
        internal const short POSIX_SPAWN_SETSIGMASK = 0x08;

        /// <summary>Upper bounds for glibc's opaque spawn structs (80 and 336 bytes on x86_64/arm64).</summary>
        internal const int PosixSpawnFileActionsSize = 256;
        internal const int PosixSpawnAttrSize = 512;
        internal const int SigSetSize = 128;

        // posix_spawn* return an error number instead of setting errno.
        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawn")]
        internal static unsafe partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawn_file_actions_init")]
        internal static unsafe partial int PosixSpawnFileActionsInit(void* fileActions);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawn_file_actions_adddup2")]
        internal static unsafe partial int PosixSpawnFileActionsAddDup2(void* fileActions, int fd, int newFd);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawn_file_actions_destroy")]
        internal static unsafe partial int PosixSpawnFileActionsDestroy(void* fileActions);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawnattr_init")]
        internal static unsafe partial int PosixSpawnAttrInit(void* attr);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawnattr_setflags")]
        internal static unsafe partial int PosixSpawnAttrSetFlags(void* attr, short flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawnattr_setsigmask")]
        internal static unsafe partial int PosixSpawnAttrSetSigMask(void* attr, void* sigset);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawnattr_setsigdefault")]
        internal static unsafe partial int PosixSpawnAttrSetSigDefault(void* attr, void* sigset);

        [LibraryImport(Libraries.Libc, EntryPoint = "posix_spawnattr_destroy")]
        internal static unsafe partial int PosixSpawnAttrDestroy(void* attr);

        [LibraryImport(Libraries.Libc, EntryPoint = "sigemptyset")]
        internal static unsafe partial int SigEmptySet(void* sigset);

        [LibraryImport(Libraries.Libc, EntryPoint = "sigaddset")]
        internal static unsafe partial int SigAddSet(void* sigset, int signal);

        [LibraryImport(Libraries.Libc, EntryPoint = "waitpid", SetLastError = true)]
        private static partial int WaitPidRaw(int pid, out int status, int options);

        [LibraryImport(Libraries.Libc, EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);

        /// <summary>waitpid that retries on EINTR; returns the pid, 0 (WNOHANG, still running) or -1 with errno.</summary>
        internal static int WaitPid(int pid, out int status, int options)
        {
            int result;
            do
            {
                result = WaitPidRaw(pid, out status, options);
            }
            while (result == -1 && LastErrno == EINTR);
            return result;
        }
    }
}
