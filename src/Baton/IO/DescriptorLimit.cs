namespace Baton.IO;

/// <summary>
/// This process's descriptor limit (RLIMIT_NOFILE). The front and every worker raise the soft limit to the hard one
/// at start and size what they accept from what is left, keeping <see cref="RuntimeReserve"/> free.
/// </summary>
internal readonly record struct DescriptorLimit(int Soft, int Hard)
{
    /// <summary>
    /// Descriptors kept free for the runtime. It opens assemblies as code first needs them (two descriptors each, kept
    /// for the process's life) and a failed open there is not an error it survives: the front aborted with
    /// "Out of memory.", a worker was left with a TypeInitializationException on every later request.
    /// </summary>
    public const int RuntimeReserve = 64;

    private const string OpenDescriptorsPath = "/proc/self/fd";

    /// <summary>The limit in force now.</summary>
    public static DescriptorLimit Current
    {
        get
        {
            Interop.ThrowIfMinusOne(Interop.Libc.GetRLimit(Interop.Libc.RLIMIT_NOFILE, out Interop.Libc.RLimit limit), "getrlimit(RLIMIT_NOFILE)");
            return new DescriptorLimit(Clamp(limit.Current), Clamp(limit.Maximum));
        }
    }

    /// <summary>
    /// Raises the soft limit to the hard one (any process may) and returns the limit then in force. CoreCLR does the same
    /// when it starts (minipal_increase_descriptor_limit), except on musl; doing it here does not depend on that.
    /// </summary>
    public static DescriptorLimit RaiseSoftToHard()
    {
        Interop.ThrowIfMinusOne(Interop.Libc.GetRLimit(Interop.Libc.RLIMIT_NOFILE, out Interop.Libc.RLimit limit), "getrlimit(RLIMIT_NOFILE)");
        if (limit.Current < limit.Maximum)
        {
            Interop.Libc.RLimit raised = limit with { Current = limit.Maximum };
            Interop.ThrowIfMinusOne(Interop.Libc.SetRLimit(Interop.Libc.RLIMIT_NOFILE, raised), "setrlimit(RLIMIT_NOFILE)");
        }
        return Current;
    }

    /// <summary>
    /// How many descriptors this process has open: the entries of /proc/self/fd, less the one that lists them. Throws
    /// IOException when not even that one can be opened.
    /// </summary>
    public static int CountOpen() => Directory.EnumerateFileSystemEntries(OpenDescriptorsPath).Count() - 1;

    /// <summary>How many more descriptors may be opened with <paramref name="open"/> in use and <paramref name="reserve"/> kept free.</summary>
    public int Room(int open, int reserve) => Math.Max(0, Soft - open - reserve);

    public override string ToString() => Soft == Hard ? $"{Soft}" : $"{Soft} (hard {Hard})";

    private static int Clamp(ulong value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
