using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>RLIMIT_NOFILE on x86_64, arm64 and arm (asm-generic and x86 agree; MIPS and SPARC differ).</summary>
        internal const int RLIMIT_NOFILE = 7;

        /// <summary>struct rlimit: rlim_t is an unsigned long, 64 bits on every 64-bit Linux.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct RLimit
        {
            public ulong Current;
            public ulong Maximum;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
        internal static partial int GetRLimit(int resource, out RLimit limit);

        [LibraryImport(Libraries.Libc, EntryPoint = "setrlimit", SetLastError = true)]
        internal static partial int SetRLimit(int resource, in RLimit limit);
    }
}
