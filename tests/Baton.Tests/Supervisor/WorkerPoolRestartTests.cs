using System.Diagnostics;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Supervisor;

/// <summary>
/// <see cref="WorkerPool"/> restarts and shutdown with real test worker processes, measured from the pool's own
/// launches and the workers' exits with generous bounds, never with fixed sleeps.
/// </summary>
public sealed class WorkerPoolRestartTests
{
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(100);
    /// <summary>
    /// Also what makes a run "long" (the backoff resets after one): a worker that exits at start must take less, which a
    /// runtime start on a loaded 2-core machine has exceeded at 1 s.
    /// </summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    /// <summary>Timers may fire a tick early against the stopwatch.</summary>
    private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// How late restarts may come on a loaded 2-core machine (0.7 s has been seen at load 10): the upper bounds
    /// below sit this far above the expected delays and still well below what a broken cap or reset would give.
    /// </summary>
    private static readonly TimeSpan Late = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task AnExitedWorkerIsRestartedWithDoublingBackoffCappedAndResetAfterALongRun()
    {
        // Workers #0-#5 exit at once, #6 runs until killed, #7 and #8 exit at once, #9 stays up.
        string[] Arguments(int n) => [n is < 6 or 7 or 8 ? "exit" : "hold"];
        var limits = new LimitOptions { RestartBackoff = Backoff, MaxRestartBackoff = MaxBackoff, DispatchTimeout = Wait.DefaultTimeout };
        await using TestPool pool = TestPool.Start(1, Arguments, limits);

        LaunchedWorker longRun = await pool.WaitForLaunchAsync(6);
        IReadOnlyList<LaunchedWorker> launched = pool.Launched;
        foreach (LaunchedWorker exited in launched.Take(6))
            Assert.Equal(TestWorkerProgram.ExitedAtStart, (await exited.Worker.Exited).ExitCode);
        // 0.1, 0.2, 0.4, 0.8, 1.6 s, then the 2 s cap where doubling would give 3.2 s.
        TimeSpan[] expected = [Backoff, 2 * Backoff, 4 * Backoff, 8 * Backoff, 16 * Backoff, MaxBackoff];
        for (int n = 0; n < 6; n++)
            Assert.InRange(Between(launched[n].Started, launched[n + 1].Requested), expected[n] - Early, TimeSpan.MaxValue);
        Assert.InRange(await RestartDelayAsync(launched[5], longRun), TimeSpan.Zero, MaxBackoff + Late);

        // The pool judges the run when it sees the exit, later than this.
        await Wait.UntilAsync(() => DateTime.UtcNow - longRun.Worker.StartedAt > MaxBackoff, "worker #6 has run longer than MaxRestartBackoff");
        longRun.Worker.Signal(Interop.Libc.SIGKILL);
        await pool.WaitForLaunchAsync(9);
        launched = pool.Launched;
        // Reset, the backoff starts over: 0, 0.1, 0.2 s. Without the reset: 2 s each, 6 s in all.
        Assert.InRange(Between(launched[7].Started, launched[8].Requested), Backoff - Early, TimeSpan.MaxValue);
        Assert.InRange(Between(launched[8].Started, launched[9].Requested), 2 * Backoff - Early, TimeSpan.MaxValue);
        TimeSpan afterReset = TimeSpan.Zero;
        for (int n = 6; n < 9; n++)
            afterReset += await RestartDelayAsync(launched[n], launched[n + 1]);
        Assert.InRange(afterReset, TimeSpan.Zero, 3 * Backoff + Late);
        await pool.WaitReadyAsync();
    }

    [Fact]
    public async Task StopAsyncLetsIdleWorkersExitAndKillsTheOnesStillServingAtTheDeadline()
    {
        await using TestPool pool = TestPool.Start(2, ["hold"]);
        await pool.WaitReadyAsync();
        using HandedConnection held = await HandedConnection.OpenAsync();
        WorkerProcess busy = pool.ByPid(await held.DispatchAsync(pool)).Worker;
        WorkerProcess idle = pool.Launched.Single(l => l.Worker != busy).Worker;

        TimeSpan deadline = TimeSpan.FromSeconds(1);
        var elapsed = Stopwatch.StartNew();
        await pool.Pool.StopAsync(deadline).WaitAsync(Wait.DefaultTimeout);

        Assert.InRange(elapsed.Elapsed, deadline - Early, Wait.DefaultTimeout);
        Assert.Equal(new WorkerExit(0, null), await idle.Exited);
        Assert.Equal(new WorkerExit(null, Interop.Libc.SIGKILL), await busy.Exited);
        Assert.Equal(2, pool.Launched.Count);
    }

    /// <summary>
    /// From the exit as the test saw it to the restart. Seen late, the delay only looks shorter, so upper bounds on it
    /// are safe; the lower bounds start at <see cref="LaunchedWorker.Started"/> instead, before any exit the pool can see.
    /// </summary>
    private static async Task<TimeSpan> RestartDelayAsync(LaunchedWorker exited, LaunchedWorker next) =>
        Between(await exited.ExitSeen, next.Requested);

    private static TimeSpan Between(long from, long to) => Stopwatch.GetElapsedTime(from, to);
}
