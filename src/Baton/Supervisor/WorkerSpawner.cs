using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text;
using Baton.Channel;

namespace Baton.Supervisor;

/// <summary>
/// Starts a worker with <c>posix_spawn</c>, giving it exactly one inherited descriptor: its end of
/// the channel as fd 3. .NET opens every descriptor with O_CLOEXEC and <c>Process.Start</c> passes
/// none, so the channel is handed over deliberately with a <c>dup2</c> file action (dup2 clears
/// FD_CLOEXEC on the target). See docs/architecture.md, "Spawning workers".
/// </summary>
internal static class WorkerSpawner
{
    /// <summary>The descriptor number of the channel inside every worker.</summary>
    public const int ChannelFd = 3;


    /// <summary>Spawns <paramref name="argv"/>[0] and returns its pid; throws with the errno on failure.</summary>
    public static unsafe int Spawn(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> extraEnvironment, SafeHandle channelEnd)
    {
        var strings = new NativeStrings();
        byte* fileActions = (byte*)NativeMemory.AllocZeroed(Interop.Libc.PosixSpawnFileActionsSize);
        byte* attr = (byte*)NativeMemory.AllocZeroed(Interop.Libc.PosixSpawnAttrSize);
        byte* sigset = stackalloc byte[Interop.Libc.SigSetSize];
        bool addedRef = false;
        try
        {
            channelEnd.DangerousAddRef(ref addedRef);
            // dup2(3, 3) would leave FD_CLOEXEC set on glibc before 2.29, so the source is first moved
            // above 3 (the copy is CLOEXEC and closed below; the child gets only the dup2 target).
            using var source = new SafeFdHandle(Interop.Libc.Fcntl((int)channelEnd.DangerousGetHandle(), Interop.Libc.F_DUPFD_CLOEXEC, ChannelFd + 1));
            Check(Interop.Libc.PosixSpawnFileActionsInit(fileActions), "posix_spawn_file_actions_init");
            Check(Interop.Libc.PosixSpawnFileActionsAddDup2(fileActions, source.Fd, ChannelFd), "posix_spawn_file_actions_adddup2");
            Check(Interop.Libc.PosixSpawnAttrInit(attr), "posix_spawnattr_init");
            ConfigureSignals(attr, sigset);

            byte** nativeArgv = strings.Array(argv);
            byte** nativeEnvp = strings.Array(BuildEnvironment(extraEnvironment));
            int error = Interop.Libc.PosixSpawn(out int pid, nativeArgv[0], fileActions, attr, nativeArgv, nativeEnvp);
            if (error != 0)
                throw Interop.ErrnoException($"posix_spawn({argv[0]})", error);
            return pid;
        }
        finally
        {
            if (addedRef) channelEnd.DangerousRelease();
            Interop.Libc.PosixSpawnFileActionsDestroy(fileActions);
            Interop.Libc.PosixSpawnAttrDestroy(attr);
            NativeMemory.Free(fileActions);
            NativeMemory.Free(attr);
            strings.Dispose();
        }
    }

    /// <summary>
    /// Workers start with no blocked signals, SIGPIPE at its default (the runtime re-ignores it) and
    /// in their own process group, so a terminal's Ctrl-C reaches only the front, which then drains them.
    /// </summary>
    private static unsafe void ConfigureSignals(byte* attr, byte* sigset)
    {
        Interop.Libc.SigEmptySet(sigset);
        Check(Interop.Libc.PosixSpawnAttrSetSigMask(attr, sigset), "posix_spawnattr_setsigmask");
        Interop.Libc.SigAddSet(sigset, Interop.Libc.SIGPIPE);
        Check(Interop.Libc.PosixSpawnAttrSetSigDefault(attr, sigset), "posix_spawnattr_setsigdefault");
        short flags = Interop.Libc.POSIX_SPAWN_SETSIGMASK | Interop.Libc.POSIX_SPAWN_SETSIGDEF | Interop.Libc.POSIX_SPAWN_SETPGROUP;
        Check(Interop.Libc.PosixSpawnAttrSetFlags(attr, flags), "posix_spawnattr_setflags");
    }

    private static List<string> BuildEnvironment(IReadOnlyDictionary<string, string> extra)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in WorkerEnvironment.Inherited(Environment.GetEnvironmentVariables()))
            environment[key] = value;
        foreach ((string key, string value) in extra)
            environment[key] = value;
        environment[WorkerEnvironment.ChannelFdVariable] = ChannelFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment.Select(kv => $"{kv.Key}={kv.Value}").ToList();
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
