using System.Diagnostics;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Supervisor;

/// <summary>
/// <see cref="WorkerPool"/> readiness and dispatch with real test worker processes and real sockets: which worker
/// a connection goes to, and what happens when that worker refuses it or dies before acknowledging it.
/// </summary>
public sealed class WorkerPoolDispatchTests : IDisposable
{
    private readonly string _marker = TestWorkerProgram.NewMarker();

    [Fact]
    public async Task WaitReadyAsyncCompletesOnlyOnceEveryWorkerHasReportedReady()
    {
        await using (TestPool ready = TestPool.Start(2, ["hold"]))
        {
            await ready.WaitReadyAsync();
            Assert.Equal(2, ready.Pool.Workers.Count(w => w.IsReady));
        }

        await using TestPool halfReady = TestPool.Start(2, n => [n == 0 ? "hold" : "never-ready"]);
        LaunchedWorker first = await halfReady.WaitForLaunchAsync(0);
        await Wait.UntilAsync(() => first.Worker.IsReady, "the first worker reports ready");
        using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => halfReady.Pool.WaitReadyAsync(shortWait.Token));
    }

    [Fact]
    public async Task DispatchGoesToTheLeastOutstandingWorkerAndAnswersAtOnceWhenAllAreAtTheirLimit()
    {
        await using TestPool pool = TestPool.Start(2, ["hold"], maxConnectionsPerWorker: 2);
        await pool.WaitReadyAsync();
        using HandedConnection c1 = await HandedConnection.OpenAsync(), c2 = await HandedConnection.OpenAsync();
        using HandedConnection c3 = await HandedConnection.OpenAsync(), c4 = await HandedConnection.OpenAsync();
        int first = await c1.DispatchAsync(pool);
        int second = await c2.DispatchAsync(pool);
        Assert.NotEqual(first, second);
        // One each again: whichever takes the third, the fourth goes to the other.
        Assert.NotEqual(await c3.DispatchAsync(pool), await c4.DispatchAsync(pool));

        // Both at MaxConnectionsPerWorker: nothing is sent, and the answer does not wait for the dispatch timeout (30 s here).
        using HandedConnection c5 = await HandedConnection.OpenAsync();
        var elapsed = Stopwatch.StartNew();
        Assert.Equal(DispatchOutcome.AtCapacity, await pool.Pool.DispatchAsync(c5.Handoff, CancellationToken.None).WaitAsync(Wait.DefaultTimeout));
        Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, Wait.DefaultTimeout / 2);
        Assert.All(pool.Pool.Workers, w => Assert.Equal(2, w.Outstanding));

        // A worker with room again takes the next one.
        c2.CloseClient();
        WorkerProcess freed = pool.ByPid(second).Worker;
        await Wait.UntilAsync(() => freed.Outstanding == 1, "the worker that held the closed connection says Closed");
        Assert.Equal(second, await c5.DispatchAsync(pool));
    }

    [Fact]
    public async Task DispatchGivesUpAfterTheDispatchTimeoutWhenNoWorkerCanTakeTheConnection()
    {
        var limits = new LimitOptions { DispatchTimeout = TimeSpan.FromMilliseconds(400) };
        await using TestPool pool = TestPool.Start(1, ["never-ready"], limits);
        using HandedConnection connection = await HandedConnection.OpenAsync();

        var elapsed = Stopwatch.StartNew();
        Assert.Equal(DispatchOutcome.NoWorker, await pool.Pool.DispatchAsync(connection.Handoff, CancellationToken.None).WaitAsync(Wait.DefaultTimeout));
        // Timers may fire a tick early against the stopwatch; late is fine.
        Assert.InRange(elapsed.Elapsed, limits.DispatchTimeout - TimeSpan.FromMilliseconds(25), Wait.DefaultTimeout);
        Assert.All(pool.Pool.Workers, w => Assert.Equal(0, w.Outstanding));
    }

    [Fact]
    public async Task ARejectedConnectionGoesToAnotherWorkerAndTheRejecterIsSentNoMore()
    {
        await using TestPool pool = TestPool.Start(2, ["hold", "--first", _marker, "reject"]);
        await pool.WaitReadyAsync();
        using HandedConnection c1 = await HandedConnection.OpenAsync();

        int server = await c1.DispatchAsync(pool);

        WorkerProcess rejecter = Assert.Single(pool.Pool.Workers, w => !w.IsReady);
        Assert.NotEqual(rejecter.Pid, server);
        Assert.True(File.Exists(_marker), "the rejecting worker received the connection first");
        // The rejecter has nothing outstanding and the other one more each time, yet every connection goes to the other.
        using HandedConnection c2 = await HandedConnection.OpenAsync(), c3 = await HandedConnection.OpenAsync();
        Assert.Equal(server, await c2.DispatchAsync(pool));
        Assert.Equal(server, await c3.DispatchAsync(pool));
        Assert.Equal(0, rejecter.Outstanding);
        Assert.False(rejecter.Exited.IsCompleted);
    }

    [Fact]
    public async Task AConnectionWhoseWorkerDiesBeforeAcknowledgingGoesWholeToAnother()
    {
        await using TestPool pool = TestPool.Start(2, ["hold", "--first", _marker, "die"]);
        await pool.WaitReadyAsync();
        using HandedConnection connection = await HandedConnection.OpenAsync();

        // The line comes over the very descriptor the dead worker received: it travelled again, intact.
        int server = await connection.DispatchAsync(pool);

        LaunchedWorker dead = Assert.Single(pool.Launched, l => l.Worker.Exited.IsCompleted);
        Assert.Equal(TestWorkerProgram.DiedOnConnection, (await dead.Worker.Exited).ExitCode);
        Assert.NotEqual(dead.Worker.Pid, server);
        Assert.Contains(pool.Launched, l => l.Worker.Pid == server);
        // And the dead worker's slot is filled again.
        await pool.WaitForLaunchAsync(2);
        await pool.WaitReadyAsync();
    }

    public void Dispose() => File.Delete(_marker);
}
