using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Supervisor;

/// <summary>One worker the pool started, with monotonic timestamps around its start and of its exit as the test saw it.</summary>
internal sealed record LaunchedWorker(WorkerProcess Worker, long Requested, long Started, Task<long> ExitSeen);

/// <summary>
/// A real <see cref="WorkerPool"/> whose workers are Baton.TestWorker processes, started through the pool's launch
/// seam so that the test sees every worker the pool starts, and when. Disposing stops the pool and kills whatever is left.
/// </summary>
internal sealed class TestPool : IAsyncDisposable
{
    public const string Name = "test";

    private static readonly byte[] Settings = EncodeSettings();

    // Found on the test's thread: a missing build fails the test at once rather than inside the pool's restarts.
    private readonly string _program = TestWorkerProgram.Path;
    private readonly Func<int, string[]> _arguments;
    private readonly List<LaunchedWorker> _launched = [];
    private readonly MetricTotals _metrics = new();
    private bool _disposing;

    private TestPool(int workers, int maxConnectionsPerWorker, LimitOptions limits, Func<int, string[]> arguments)
    {
        _arguments = arguments;
        var options = new PoolOptions { Workers = workers, Mode = HandoffMode.Passthrough, MaxConnectionsPerWorker = maxConnectionsPerWorker };
        Pool = new WorkerPool(Name, options, limits, Launch, _metrics.Metrics, NullLogger.Instance);
    }

    public WorkerPool Pool { get; }

    /// <summary>The pool's counters, e.g. <c>Metrics.Total("baton.workers.hung", "pool=test")</c>.</summary>
    public MetricTotals Metrics => _metrics;

    public IReadOnlyList<LaunchedWorker> Launched
    {
        get { lock (_launched) return [.. _launched]; }
    }

    /// <summary>Starts a pool whose every worker runs the test worker with <paramref name="arguments"/>.</summary>
    public static TestPool Start(int workers, string[] arguments, LimitOptions? limits = null, int maxConnectionsPerWorker = 10_000) =>
        Start(workers, _ => arguments, limits, maxConnectionsPerWorker);

    /// <summary>Starts a pool whose n-th worker started (restarts included, from 0) runs the test worker with <c>arguments(n)</c>.</summary>
    public static TestPool Start(int workers, Func<int, string[]> arguments, LimitOptions? limits = null, int maxConnectionsPerWorker = 10_000)
    {
        var pool = new TestPool(workers, maxConnectionsPerWorker, limits ?? new LimitOptions { DispatchTimeout = Wait.DefaultTimeout }, arguments);
        pool.Pool.Start();
        return pool;
    }

    public async Task WaitReadyAsync()
    {
        using var deadline = new CancellationTokenSource(Wait.DefaultTimeout);
        await Pool.WaitReadyAsync(deadline.Token);
    }

    /// <summary>The <paramref name="index"/>-th worker the pool started (from 0), once it has been started.</summary>
    public async Task<LaunchedWorker> WaitForLaunchAsync(int index)
    {
        await Wait.UntilAsync(() => Launched.Count > index, $"the pool has started worker #{index}");
        return Launched[index];
    }

    public LaunchedWorker ByPid(int pid) => Launched.Single(l => l.Worker.Pid == pid);

    private WorkerProcess Launch(string pool, PoolOptions options, ILogger logger, Action<WorkerProcess> changed)
    {
        lock (_launched)
        {
            // The pool may restart a worker while the test ends: refused here, no process is left behind.
            if (_disposing)
                throw new InvalidOperationException("the test is over");
            long requested = Stopwatch.GetTimestamp();
            WorkerProcess worker = WorkerProcess.Start(
                pool, [_program, .. _arguments(_launched.Count)], new Dictionary<string, string>(), Settings, logger, changed);
            Task<long> exitSeen = worker.Exited.ContinueWith(_ => Stopwatch.GetTimestamp(), TaskScheduler.Default);
            _launched.Add(new LaunchedWorker(worker, requested, Stopwatch.GetTimestamp(), exitSeen));
            return worker;
        }
    }

    private static byte[] EncodeSettings()
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        // Handoff: settings without certificates, which the production WorkerListener (behaviour starve) accepts only in that mode.
        var settings = new WorkerSettings { Pool = Name, Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(10) };
        return body[..settings.WriteTo(body)];
    }

    public async ValueTask DisposeAsync()
    {
        lock (_launched)
            _disposing = true;
        try
        {
            await Pool.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(Wait.DefaultTimeout);
        }
        finally
        {
            foreach (LaunchedWorker launched in Launched.Where(l => !l.Worker.Exited.IsCompleted))
                launched.Worker.Signal(Interop.Libc.SIGKILL);
            await Task.WhenAll(Launched.Select(l => l.Worker.Exited)).WaitAsync(Wait.DefaultTimeout);
            _metrics.Dispose();
        }
    }
}
