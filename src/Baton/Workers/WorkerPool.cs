using Baton.Channel;
using Baton.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Workers;

/// <summary>
/// One configured pool: a fixed number of worker slots, each holding a running worker that is
/// restarted with exponential backoff when it exits. Connections go to the ready worker with the
/// fewest outstanding connections, under a per-worker limit.
/// </summary>
internal sealed class WorkerPool
{
    private readonly PoolOptions _options;
    private readonly LimitOptions _limits;
    private readonly WorkerLauncher _launcher;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly WorkerProcess?[] _slots;
    private readonly int[] _consecutiveFailures;
    private TaskCompletionSource _changed = NewSignal();
    private volatile bool _stopping;

    public WorkerPool(string name, PoolOptions options, LimitOptions limits, WorkerLauncher launcher, BatonMetrics metrics, ILogger logger)
    {
        Name = name;
        _options = options;
        _limits = limits;
        _launcher = launcher;
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
        while (!_slots.All(w => w is { IsReady: true }))
            await WaitForChangeAsync(cancellationToken).ConfigureAwait(false);
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
                Task signal = _changed.Task;
                WorkerProcess? worker = SelectWorker();
                if (worker is not null && worker.TrySend(handoff))
                {
                    if (await handoff.Acknowledgement.WaitAsync(timeout.Token).ConfigureAwait(false))
                        return true;
                    handoff.ResetAcknowledgement();
                    continue;
                }
                await signal.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
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
            worker = _launcher.Launch(Name, _logger, OnWorkerChanged);
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
        // DispatchAsync sees the Ack task fail and sends it to another worker.
        foreach (PendingHandoff orphan in worker.TakeUnacknowledged())
            orphan.SetAcknowledged(false);
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

    private void OnWorkerChanged(WorkerProcess worker) => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private Task WaitForChangeAsync(CancellationToken cancellationToken) => _changed.Task.WaitAsync(cancellationToken);

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
