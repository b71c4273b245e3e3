using System.Diagnostics;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Supervisor;

/// <summary>
/// Workers that stop answering, with real test worker processes: stopped with SIGSTOP, never acknowledging, or with a
/// thread pool that runs nothing. Each is killed once <see cref="LimitOptions.WorkerResponseTimeout"/> has passed,
/// counted, restarted, and what it never acknowledged is served by another worker, long before the dispatch timeout.
/// </summary>
public sealed class WorkerPoolHangTests : IDisposable
{
    /// <summary>Short for a test, yet long enough that a loaded machine does not make a responsive worker look hung.</summary>
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The pool looks five times per timeout, so it may see a ping's deadline pass up to one look late.</summary>
    private static readonly TimeSpan Look = ResponseTimeout / 5;

    /// <summary>Timers may fire a tick early against the stopwatch.</summary>
    private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(25);

    /// <summary>How late a kill, a reap and a re-dispatch may come on a loaded 2-core machine: still far below the 30 s dispatch timeout.</summary>
    private static readonly TimeSpan Late = TimeSpan.FromSeconds(8);

    private static readonly LimitOptions Limits = new() { DispatchTimeout = Wait.DefaultTimeout, WorkerResponseTimeout = ResponseTimeout };

    private readonly string _marker = TestWorkerProgram.NewMarker();

    [Fact]
    public async Task AConnectionAWorkerNeverAcknowledgesGoesToAnotherOnceTheResponseTimeoutHasPassed()
    {
        // The worker that receives the first connection keeps it unacknowledged, and goes on answering pings.
        await using TestPool pool = TestPool.Start(2, ["hold", "--first", _marker, "ignore"], Limits);
        await pool.WaitReadyAsync();
        using HandedConnection connection = await HandedConnection.OpenAsync();

        var elapsed = Stopwatch.StartNew();
        int server = await connection.DispatchAsync(pool);

        Assert.True(File.Exists(_marker), "a worker received the connection and ignored it");
        WorkerProcess ignorer = pool.Launched.Take(2).Single(l => l.Worker.Pid != server).Worker;
        Assert.Equal(Interop.Libc.SIGKILL, (await ignorer.Exited).Signal);
        // Only the Ack deadline can have found it: it answered every ping.
        Assert.InRange(elapsed.Elapsed, ResponseTimeout - Early, ResponseTimeout + Late);
        Assert.Equal(1, pool.Metrics.Total("baton.workers.hung", "pool=test"));
        await pool.WaitForLaunchAsync(2);
        await pool.WaitReadyAsync();
    }

    [Fact]
    public async Task AStoppedWorkersUnacknowledgedConnectionIsServedByAnotherWithinTheResponseTimeout()
    {
        await using TestPool pool = TestPool.Start(2, ["hold"], Limits);
        await pool.WaitReadyAsync();
        // One connection on one worker: the next goes to the other, the one with fewer.
        using HandedConnection first = await HandedConnection.OpenAsync();
        int awake = await first.DispatchAsync(pool);
        WorkerProcess stopped = pool.Launched.Single(l => l.Worker.Pid != awake).Worker;
        try
        {
            stopped.Signal(JobSignals.SIGSTOP);
            using HandedConnection connection = await HandedConnection.OpenAsync();

            var elapsed = Stopwatch.StartNew();
            Assert.Equal(awake, await connection.DispatchAsync(pool));

            Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, ResponseTimeout + Late);
            Assert.Equal(Interop.Libc.SIGKILL, (await stopped.Exited).Signal);
            Assert.Equal(1, pool.Metrics.Total("baton.workers.hung", "pool=test"));
            await pool.WaitForLaunchAsync(2);
            await pool.WaitReadyAsync();
        }
        finally
        {
            if (!stopped.Exited.IsCompleted)
                stopped.Signal(JobSignals.SIGCONT);
        }
    }

    [Fact]
    public async Task AnIdleStoppedWorkerIsFoundByItsPingsKilledAndReplaced()
    {
        await using TestPool pool = TestPool.Start(1, ["hold"], Limits);
        await pool.WaitReadyAsync();
        WorkerProcess stopped = pool.Launched[0].Worker;
        try
        {
            var elapsed = Stopwatch.StartNew();
            stopped.Signal(JobSignals.SIGSTOP);

            Assert.Equal(Interop.Libc.SIGKILL, (await stopped.Exited.WaitAsync(Wait.DefaultTimeout)).Signal);
            // The ping it missed may have been sent up to one look before the stop.
            Assert.InRange(elapsed.Elapsed, ResponseTimeout - Look - Early, ResponseTimeout + Late);
            Assert.Equal(1, pool.Metrics.Total("baton.workers.hung", "pool=test"));
            await pool.WaitForLaunchAsync(1);
            await pool.WaitReadyAsync();
        }
        finally
        {
            if (!stopped.Exited.IsCompleted)
                stopped.Signal(JobSignals.SIGCONT);
        }
    }

    [Fact]
    public async Task AWorkerWhoseThreadPoolRunsNothingIsKilledAndReplacedWhileAResponsiveOneIsLeftAlone()
    {
        // Worker #0 runs the production WorkerListener and blocks its thread pool once Ready; #1 and later hold.
        await using TestPool pool = TestPool.Start(2, n => [n == 0 ? "starve" : "hold"], Limits);
        LaunchedWorker starved = await pool.WaitForLaunchAsync(0), responsive = await pool.WaitForLaunchAsync(1);
        await Wait.UntilAsync(() => starved.Worker.IsReady || starved.Worker.Exited.IsCompleted, "the starving worker reports Ready");

        // Its channel thread is alive (it would acknowledge), but the Pong goes through the blocked pool.
        Assert.Equal(Interop.Libc.SIGKILL, (await starved.Worker.Exited.WaitAsync(Wait.DefaultTimeout)).Signal);
        await pool.WaitForLaunchAsync(2);
        await pool.WaitReadyAsync();

        // Pinged as often all the while, and answering: the responsive worker is still the first one.
        Assert.False(responsive.Worker.Exited.IsCompleted);
        Assert.Equal(1, pool.Metrics.Total("baton.workers.hung", "pool=test"));
    }

    public void Dispose() => File.Delete(_marker);
}
