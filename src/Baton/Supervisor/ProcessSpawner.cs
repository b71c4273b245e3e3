using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text;

namespace Baton.Supervisor;

/// <summary>
/// Starts a program with <c>posix_spawn</c>, giving it exactly the descriptors it is meant to have, as fd 3, 4, …
/// in order. .NET opens every descriptor with O_CLOEXEC and <c>Process.Start</c> passes none, so each is handed
/// over deliberately with a <c>dup2</c> file action (dup2 clears FD_CLOEXEC on the target). Used for workers (their
/// channel) and for a binary upgrade's new front (the listening sockets and its readiness channel).
/// </summary>
internal static class ProcessSpawner
{
    /// <summary>The first descriptor number a spawned program gets (SD_LISTEN_FDS_START: after stdin, stdout, stderr).</summary>
    public const int FirstInheritedFd = 3;

    /// <summary>
    /// Spawns <paramref name="argv"/>[0] with exactly <paramref name="environment"/> ("KEY=value") and
    /// <paramref name="inherited"/> as fd 3, 4, …; returns its pid, throws with the errno on failure. With
    /// <paramref name="ownProcessGroup"/> the program leads a process group of its own, so a terminal's Ctrl-C does not reach it.
    /// </summary>
    public static unsafe int Spawn(IReadOnlyList<string> argv, IReadOnlyList<string> environment, IReadOnlyList<SafeHandle> inherited, bool ownProcessGroup)
    {
        var strings = new NativeStrings();
        byte* fileActions = (byte*)NativeMemory.AllocZeroed(Interop.Libc.PosixSpawnFileActionsSize);
        byte* attr = (byte*)NativeMemory.AllocZeroed(Interop.Libc.PosixSpawnAttrSize);
        byte* sigset = stackalloc byte[Interop.Libc.SigSetSize];
        var sources = new List<SafeFdHandle>(inherited.Count);
        try
        {
            Check(Interop.Libc.PosixSpawnFileActionsInit(fileActions), "posix_spawn_file_actions_init");
            // dup2(3, 3) would leave FD_CLOEXEC set on glibc before 2.29, and a source at 4 would be overwritten by the
            // second target, so every source is first copied above the last target (the copies are CLOEXEC and closed below).
            int aboveTargets = FirstInheritedFd + inherited.Count;
            for (int i = 0; i < inherited.Count; i++)
            {
                sources.Add(SafeFdHandle.DuplicateAbove(inherited[i], aboveTargets));
                Check(Interop.Libc.PosixSpawnFileActionsAddDup2(fileActions, sources[i].Fd, FirstInheritedFd + i), "posix_spawn_file_actions_adddup2");
            }
            Check(Interop.Libc.PosixSpawnAttrInit(attr), "posix_spawnattr_init");
            ConfigureSignals(attr, sigset, ownProcessGroup);

            byte** nativeArgv = strings.Array(argv);
            byte** nativeEnvp = strings.Array(environment);
            int error = Interop.Libc.PosixSpawn(out int pid, nativeArgv[0], fileActions, attr, nativeArgv, nativeEnvp);
            if (error != 0)
                throw Interop.ErrnoException($"posix_spawn({argv[0]})", error);
            return pid;
        }
        finally
        {
            foreach (SafeFdHandle source in sources)
                source.Dispose();
            Interop.Libc.PosixSpawnFileActionsDestroy(fileActions);
            Interop.Libc.PosixSpawnAttrDestroy(attr);
            NativeMemory.Free(fileActions);
            NativeMemory.Free(attr);
            strings.Dispose();
        }
    }

    /// <summary>No blocked signals and SIGPIPE at its default in the program (the runtime blocks and ignores some; a .NET program re-ignores SIGPIPE).</summary>
    private static unsafe void ConfigureSignals(byte* attr, byte* sigset, bool ownProcessGroup)
    {
        Interop.Libc.SigEmptySet(sigset);
        Check(Interop.Libc.PosixSpawnAttrSetSigMask(attr, sigset), "posix_spawnattr_setsigmask");
        Interop.Libc.SigAddSet(sigset, Interop.Libc.SIGPIPE);
        Check(Interop.Libc.PosixSpawnAttrSetSigDefault(attr, sigset), "posix_spawnattr_setsigdefault");
        short flags = Interop.Libc.POSIX_SPAWN_SETSIGMASK | Interop.Libc.POSIX_SPAWN_SETSIGDEF;
        if (ownProcessGroup)
            flags |= Interop.Libc.POSIX_SPAWN_SETPGROUP;
        Check(Interop.Libc.PosixSpawnAttrSetFlags(attr, flags), "posix_spawnattr_setflags");
    }

    private static void Check(int error, string call)
    {
        if (error != 0) throw Interop.ErrnoException(call, error);
    }

    /// <summary>NUL-terminated UTF-8 strings and pointer arrays in native memory, freed together.</summary>
    private sealed unsafe class NativeStrings : IDisposable
    {
        private readonly List<nint> _allocations = [];

        public byte** Array(IReadOnlyList<string> values)
        {
            byte** array = (byte**)Alloc((values.Count + 1) * sizeof(byte*));
            for (int i = 0; i < values.Count; i++)
            {
                int length = Encoding.UTF8.GetByteCount(values[i]);
                byte* text = (byte*)Alloc(length + 1);
                Encoding.UTF8.GetBytes(values[i], new Span<byte>(text, length));
                text[length] = 0;
                array[i] = text;
            }
            array[values.Count] = null;
            return array;
        }

        private void* Alloc(int bytes)
        {
            void* p = NativeMemory.AllocZeroed((nuint)bytes);
            _allocations.Add((nint)p);
            return p;
        }

        public void Dispose()
        {
            foreach (nint p in _allocations) NativeMemory.Free((void*)p);
            _allocations.Clear();
        }
    }
}
