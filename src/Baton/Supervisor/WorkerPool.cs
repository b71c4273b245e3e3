using Microsoft.Extensions.Logging;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Supervisor;

/// <summary>Starts one worker of a pool: <see cref="WorkerLauncher.Launch"/> in the front; tests start the program they need.</summary>
internal delegate WorkerProcess LaunchWorker(string pool, ILogger logger, Action<WorkerProcess> changed);

/// <summary>
/// One configured pool: a fixed number of worker slots, each holding a running worker that is
/// restarted with exponential backoff when it exits. Connections go to the ready worker with the
/// fewest outstanding connections, under a per-worker limit.
/// </summary>
internal sealed class WorkerPool
{
    private readonly PoolOptions _options;
    private readonly LimitOptions _limits;
    private readonly LaunchWorker _launch;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly WorkerProcess?[] _slots;
    private readonly int[] _consecutiveFailures;
    private TaskCompletionSource _changed = NewSignal();
    private int _waiting;
    private volatile bool _stopping;

    public WorkerPool(string name, PoolOptions options, LimitOptions limits, WorkerLauncher launcher, BatonMetrics metrics, ILogger logger)
        : this(name, options, limits, launcher.Launch, metrics, logger)
    {
    }

    /// <summary>With any way of starting workers: the seam the supervisor tests use to run real test worker programs.</summary>
    internal WorkerPool(string name, PoolOptions options, LimitOptions limits, LaunchWorker launch, BatonMetrics metrics, ILogger logger)
    {
        Name = name;
        _options = options;
        _limits = limits;
        _launch = launch;
        _metrics = metrics;
        _logger = logger;
        _slots = new WorkerProcess?[options.Workers];
        _consecutiveFailures = new int[options.Workers];
    }

    public string Name { get; }
    public HandoffMode Mode => _options.Mode;
    public IReadOnlyList<string> Alpn => _options.EffectiveAlpn;

    public IEnumerable<WorkerProcess> Workers => _slots.OfType<WorkerProcess>();

    public void Start()
    {
        for (int slot = 0; slot < _slots.Length; slot++)
            StartSlot(slot);
    }

    /// <summary>Completes when every worker of the pool has reported Ready.</summary>
    public async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                // The signal is taken before the state is looked at, so a change in between is not missed.
                Task signal = _changed.Task;
                if (_slots.All(w => w is { IsReady: true }))
                    return;
                await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// Sends the connection to a worker and waits for its Ack, re-dispatching if the chosen worker
    /// refuses or dies first. Returns false when no worker took it within the dispatch timeout.
    /// </summary>
    public async Task<bool> DispatchAsync(PendingHandoff handoff, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_limits.DispatchTimeout);
        try
        {
            while (true)
            {
                Task<bool> acknowledgement = SelectWorker()?.TrySend(handoff) ?? await WaitForWorkerAsync(handoff, timeout.Token).ConfigureAwait(false);
                if (await acknowledgement.WaitAsync(timeout.Token).ConfigureAwait(false))
                    return true;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>No worker could take the connection: wait for pool changes until one does.</summary>
    private async Task<Task<bool>> WaitForWorkerAsync(PendingHandoff handoff, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                // Taken before trying again, so a change in between is not missed.
                Task signal = _changed.Task;
                if (SelectWorker()?.TrySend(handoff) is Task<bool> acknowledgement)
                    return acknowledgement;
                await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private WorkerProcess? SelectWorker()
    {
        WorkerProcess? best = null;
        foreach (WorkerProcess? worker in _slots)
        {
            if (worker is { IsReady: true } && worker.Outstanding < _options.MaxConnectionsPerWorker
                && (best is null || worker.Outstanding < best.Outstanding))
                best = worker;
        }
        return best;
    }

    private void StartSlot(int slot)
    {
        if (_stopping) return;
        WorkerProcess worker;
        try
        {
            worker = _launch(Name, _logger, OnWorkerChanged);
        }
        catch (Exception ex)
        {
            _logger.WorkerStartFailed(Name, ex.Message);
            _consecutiveFailures[slot]++;
            _ = RestartLaterAsync(slot);
            return;
        }
        _slots[slot] = worker;
        _logger.WorkerStarted(Name, worker.Pid);
        _ = MonitorAsync(slot, worker);
    }

    private async Task MonitorAsync(int slot, WorkerProcess worker)
    {
        WorkerExit exit = await worker.Exited.ConfigureAwait(false);
        _slots[slot] = null;
        OnWorkerChanged(worker);
        // A connection the dead worker never acknowledged is still whole in the front: the blocked
        // DispatchAsync sees its attempt answered "not taken" and sends it to another worker.
        worker.ReleaseUnacknowledged();
        if (_stopping)
        {
            _logger.WorkerStopped(Name, worker.Pid, exit.ToString());
            return;
        }
        _logger.WorkerExited(Name, worker.Pid, exit.ToString());
        bool ranLongEnough = DateTime.UtcNow - worker.StartedAt > _limits.MaxRestartBackoff;
        _consecutiveFailures[slot] = ranLongEnough ? 0 : _consecutiveFailures[slot] + 1;
        _metrics.WorkerRestarted(Name);
        await RestartLaterAsync(slot).ConfigureAwait(false);
    }

    private async Task RestartLaterAsync(int slot)
    {
        int failures = Math.Min(_consecutiveFailures[slot], 16);
        TimeSpan delay = failures == 0 ? TimeSpan.Zero : _limits.RestartBackoff * Math.Pow(2, failures - 1);
        if (delay > _limits.MaxRestartBackoff) delay = _limits.MaxRestartBackoff;
        if (delay > TimeSpan.Zero)
            await Task.Delay(delay).ConfigureAwait(false);
        StartSlot(slot);
    }

    /// <summary>Wakes whoever waits for a worker (Ready, Ack, Closed, exit); nothing to do, and nothing allocated, when nobody waits.</summary>
    private void OnWorkerChanged(WorkerProcess worker)
    {
        if (Volatile.Read(ref _waiting) > 0)
            Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Asks every worker to finish its connections and exit; kills the rest at the deadline.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        _stopping = true;
        WorkerProcess[] running = Workers.ToArray();
        foreach (WorkerProcess worker in running)
            worker.Signal(Interop.Libc.SIGTERM);
        Task all = Task.WhenAll(running.Select(w => w.Exited));
        if (await Task.WhenAny(all, Task.Delay(deadline)).ConfigureAwait(false) != all)
        {
            foreach (WorkerProcess worker in running.Where(w => !w.Exited.IsCompleted))
            {
                _logger.WorkerKilledAtDeadline(Name, worker.Pid);
                worker.Signal(Interop.Libc.SIGKILL);
            }
            await all.ConfigureAwait(false);
        }
    }
}
