namespace Baton.Tests.Infrastructure;

/// <summary>The job-control signals the tests use to freeze a worker (Linux numbers, x86_64 and arm64); the front never sends them.</summary>
internal static class JobSignals
{
    /// <summary>Stops every thread of the process; it cannot be caught, and SIGKILL still kills a stopped process.</summary>
    public const int SIGSTOP = 19;

    public const int SIGCONT = 18;
}
