using Microsoft.Extensions.Logging;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Supervisor;

/// <summary>Starts one worker of a pool: <see cref="WorkerLauncher.Launch"/> in the front; tests start the program they need.</summary>
internal delegate WorkerProcess LaunchWorker(string pool, PoolOptions options, ILogger logger, Action<WorkerProcess> changed);

/// <summary>
/// One configured pool: its serving generation's fixed number of worker slots, each holding a running worker that is
/// restarted with exponential backoff when it exits, or once it stops answering (killed). Connections go to the
/// ready worker with the fewest outstanding connections, under a per-worker limit. A deploy replaces the whole
/// generation (<see cref="RestartAsync"/>, WorkerPool.Generations.cs).
/// </summary>
internal sealed partial class WorkerPool
{
    private readonly LimitOptions _limits;
    private readonly LaunchWorker _launch;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _watching = new();
    /// <summary>The generation new connections go to; replaced whole by a deploy.</summary>
    private volatile WorkerGeneration _serving;
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
        _limits = limits;
        _launch = launch;
        _metrics = metrics;
        _logger = logger;
        _serving = new WorkerGeneration(1, options) { State = GenerationState.Serving };
    }

    public string Name { get; }
    public HandoffMode Mode => Options.Mode;
    public IReadOnlyList<string> Alpn => Options.EffectiveAlpn;
    public FirstRequest FirstRequest => Options.EffectiveFirstRequest;

    /// <summary>The settings the serving generation's workers run (a reload keeps a running pool's, but for a deploy: docs/operating.md).</summary>
    public PoolOptions Options => _serving.Options;

    /// <summary>The serving generation's number: 1 at start, one more per deploy that became ready.</summary>
    public int Generation => _serving.Number;

    /// <summary>Every running worker: the serving generation's, a deploy's starting one's, and those of generations still draining.</summary>
    public IEnumerable<WorkerProcess> Workers => ServingWorkers.Concat(StartingWorkers).Concat(DrainingWorkers);

    /// <summary>The workers new connections go to.</summary>
    public IEnumerable<WorkerProcess> ServingWorkers => _serving.Running;

    /// <summary>Where the connections this pool's workers hand back go: the front's, set on the running workers and every later one.</summary>
    public Action<HandbackArrival>? HandbackReceived
    {
        get => _handbackReceived;
        set
        {
            _handbackReceived = value;
            foreach (WorkerProcess worker in Workers)
                worker.HandbackReceived = value;
        }
    }

    private volatile Action<HandbackArrival>? _handbackReceived;

    public void Start()
    {
        StartGeneration(_serving);
        _ = WatchAsync(_watching.Token);
    }

    /// <summary>
    /// Pings every ready worker and kills (SIGKILL) one that leaves a ping or a connection unanswered for
    /// WorkerResponseTimeout: stopped, or its thread pool stuck. Its exit then takes the usual way: the connections it
    /// never acknowledged go to other workers, and it is restarted with the backoff.
    /// </summary>
    private async Task WatchAsync(CancellationToken stopping)
    {
        TimeSpan timeout = _limits.WorkerResponseTimeout;
        using var timer = new PeriodicTimer(timeout / 5);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                // A worker that already exited has its slot cleared next; its exit, not silence, is what happened.
                foreach (WorkerProcess worker in Workers)
                {
                    if (worker is { Exited.IsCompleted: false } && worker.CheckResponsive(timeout) is string reason && worker.MarkUnresponsive())
                    {
                        _logger.WorkerUnresponsive(Name, worker.Pid, reason);
                        _metrics.WorkerHung(Name);
                        worker.Signal(Interop.Libc.SIGKILL);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Completes when every worker of the pool has reported Ready.</summary>
    public Task WaitReadyAsync(CancellationToken cancellationToken) => WaitUntilAsync(() => _serving.AllReady, cancellationToken);

    /// <summary>Until <paramref name="done"/> holds, looked at again on every pool change (Ready, Ack, Closed, exit); throws when cancelled.</summary>
    private async Task WaitUntilAsync(Func<bool> done, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                // The signal is taken before the state is looked at, so a change in between is not missed.
                Task signal = _changed.Task;
                if (done())
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
    /// Sends the connection to a worker and waits for its Ack, re-dispatching if the chosen worker refuses, dies or is
    /// found unresponsive first. When no worker can take it, answers at once if every worker is at its limit, else
    /// waits up to the dispatch timeout for one that can.
    /// </summary>
    public async Task<DispatchOutcome> DispatchAsync(PendingHandoff handoff, CancellationToken cancellationToken)
    {
        // Made only when no worker can take the connection at once: a timer per connection would cost every handoff.
        CancellationTokenSource? deadline = null;
        try
        {
            while (true)
            {
                Task<bool>? acknowledgement = SelectWorker()?.TrySend(handoff);
                if (acknowledgement is null && !EveryWorkerAtItsLimit())
                {
                    deadline ??= StartDeadline(cancellationToken);
                    acknowledgement = await WaitForWorkerAsync(handoff, deadline.Token).ConfigureAwait(false);
                }
                if (acknowledgement is null)
                    return DispatchOutcome.AtCapacity;
                // Not bounded by the dispatch timeout: until the worker answers, exits or is killed as unresponsive
                // (WorkerResponseTimeout) it may own the connection, and the front must neither answer it nor close it.
                if (await acknowledgement.WaitAsync(cancellationToken).ConfigureAwait(false))
                    return DispatchOutcome.HandedOff;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DispatchOutcome.NoWorker;
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private CancellationTokenSource StartDeadline(CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_limits.DispatchTimeout);
        return deadline;
    }

    /// <summary>
    /// No worker can take the connection now: waits for pool changes (Ready, Ack, Closed, exit) until one takes it
    /// (its attempt is returned) or every worker is at its limit (null). Throws at the deadline.
    /// </summary>
    private async Task<Task<bool>?> WaitForWorkerAsync(PendingHandoff handoff, CancellationToken deadline)
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
                if (EveryWorkerAtItsLimit())
                    return null;
                await signal.WaitAsync(deadline).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// Every slot holds a ready worker at MaxConnectionsPerWorker: no capacity is on its way (a worker starting or
    /// restarting would bring some), so a connection is answered now rather than held for the dispatch timeout.
    /// </summary>
    private bool EveryWorkerAtItsLimit()
    {
        WorkerGeneration serving = _serving;
        return serving.Slots.All(worker => worker is { IsReady: true } && worker.Outstanding >= serving.Options.MaxConnectionsPerWorker);
    }

    private WorkerProcess? SelectWorker()
    {
        WorkerGeneration serving = _serving;
        WorkerProcess? best = null;
        foreach (WorkerProcess? worker in serving.Slots)
        {
            if (worker is { IsReady: true } && worker.Outstanding < serving.Options.MaxConnectionsPerWorker
                && (best is null || worker.Outstanding < best.Outstanding))
                best = worker;
        }
        return best;
    }

    private void StartGeneration(WorkerGeneration generation)
    {
        for (int slot = 0; slot < generation.Slots.Length; slot++)
            StartSlot(generation, slot);
    }

    private void StartSlot(WorkerGeneration generation, int slot)
    {
        if (_stopping || generation.State is GenerationState.Draining or GenerationState.Failed) return;
        WorkerProcess worker;
        try
        {
            worker = _launch(Name, generation.Options, _logger, OnWorkerChanged);
        }
        catch (Exception ex)
        {
            _logger.WorkerStartFailed(Name, ex.Message);
            if (generation.FailStarting($"a worker could not start: {ex.Message}"))
            {
                OnWorkerChanged(null);
                return;
            }
            generation.ConsecutiveFailures[slot]++;
            _ = RestartLaterAsync(generation, slot);
            return;
        }
        worker.HandbackReceived = HandbackReceived;
        generation.Slots[slot] = worker;
        _logger.WorkerStarted(Name, worker.Pid);
        _ = MonitorAsync(generation, slot, worker);
    }

    private async Task MonitorAsync(WorkerGeneration generation, int slot, WorkerProcess worker)
    {
        WorkerExit exit = await worker.Exited.ConfigureAwait(false);
        generation.Slots[slot] = null;
        // A new generation that loses a worker before it is all ready is given up (RestartAsync rolls it back).
        bool givenUp = generation.FailStarting($"worker pid {worker.Pid} exited before the generation was ready ({exit})");
        OnWorkerChanged(worker);
        // A connection the dead worker never acknowledged is still whole in the front: the blocked
        // DispatchAsync sees its attempt answered "not taken" and sends it to another worker.
        worker.ReleaseUnacknowledged();
        if (_stopping || givenUp || generation.State is GenerationState.Draining or GenerationState.Failed)
        {
            _logger.WorkerStopped(Name, worker.Pid, exit.ToString());
            return;
        }
        _logger.WorkerExited(Name, worker.Pid, exit.ToString());
        bool ranLongEnough = DateTime.UtcNow - worker.StartedAt > _limits.MaxRestartBackoff;
        generation.ConsecutiveFailures[slot] = ranLongEnough ? 0 : generation.ConsecutiveFailures[slot] + 1;
        _metrics.WorkerRestarted(Name);
        await RestartLaterAsync(generation, slot).ConfigureAwait(false);
    }

    private async Task RestartLaterAsync(WorkerGeneration generation, int slot)
    {
        int failures = Math.Min(generation.ConsecutiveFailures[slot], 16);
        TimeSpan delay = failures == 0 ? TimeSpan.Zero : _limits.RestartBackoff * Math.Pow(2, failures - 1);
        if (delay > _limits.MaxRestartBackoff) delay = _limits.MaxRestartBackoff;
        if (delay > TimeSpan.Zero)
            await Task.Delay(delay).ConfigureAwait(false);
        StartSlot(generation, slot);
    }

    /// <summary>Wakes whoever waits for a worker (Ready, Ack, Closed, exit); nothing to do, and nothing allocated, when nobody waits.</summary>
    private void OnWorkerChanged(WorkerProcess? worker)
    {
        if (Volatile.Read(ref _waiting) > 0)
            Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A reload's certificates (a Certificates body) to every running worker of a passthrough pool. A full channel queue is
    /// tried again for up to <paramref name="patience"/>; a worker that still cannot take it is stopped (it drains, and its
    /// restart gets the new certificates from the launcher).
    /// </summary>
    public Task ReplaceCertificatesAsync(byte[] body, TimeSpan patience) =>
        Mode == HandoffMode.Passthrough ? PushAsync(worker => worker.TrySendCertificates(body), "certificates", patience) : Task.CompletedTask;

    /// <summary>A reload's routes (a Routes body) to every running worker of a handoff pool, as certificates are sent.</summary>
    public Task ReplaceRoutesAsync(byte[] body, TimeSpan patience) =>
        Mode == HandoffMode.Handoff ? PushAsync(worker => worker.TrySendRoutes(body), "routes", patience) : Task.CompletedTask;

    private async Task PushAsync(Func<WorkerProcess, bool> trySend, string what, TimeSpan patience)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        List<WorkerProcess> waiting = [.. Workers];
        while (true)
        {
            waiting.RemoveAll(worker => trySend(worker) || worker.Exited.IsCompleted);
            if (waiting.Count == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(started) > patience)
                break;
            await Task.Delay(TimeSpan.FromMilliseconds(10)).ConfigureAwait(false);
        }
        foreach (WorkerProcess worker in waiting)
        {
            _logger.WorkerUpdateNotDelivered(Name, worker.Pid, what);
            worker.Signal(Interop.Libc.SIGTERM);
        }
    }

    /// <summary>Asks every worker to finish its connections and exit; kills the rest at the deadline.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        _stopping = true;
        // Draining workers are given ShutdownTimeout, not WorkerResponseTimeout.
        _watching.Cancel();
        await TerminateAsync([.. Workers], deadline).ConfigureAwait(false);
    }

    /// <summary>SIGTERM to each worker still running (it drains), SIGKILL to those still running at the deadline; completes once all have exited.</summary>
    private async Task TerminateAsync(WorkerProcess[] workers, TimeSpan deadline)
    {
        foreach (WorkerProcess worker in workers.Where(w => !w.Exited.IsCompleted))
            worker.Signal(Interop.Libc.SIGTERM);
        Task all = Task.WhenAll(workers.Select(w => w.Exited));
        if (await Task.WhenAny(all, Task.Delay(deadline)).ConfigureAwait(false) != all)
        {
            foreach (WorkerProcess worker in workers.Where(w => !w.Exited.IsCompleted))
            {
                _logger.WorkerKilledAtDeadline(Name, worker.Pid);
                worker.Signal(Interop.Libc.SIGKILL);
            }
            await all.ConfigureAwait(false);
        }
    }
}

/// <summary>What became of a connection the front asked a pool to take.</summary>
internal enum DispatchOutcome
{
    /// <summary>A worker acknowledged it: the front lets go of it.</summary>
    HandedOff,

    /// <summary>Every worker of the pool is at MaxConnectionsPerWorker: refused at once.</summary>
    AtCapacity,

    /// <summary>No worker could take it within the dispatch timeout (none ready, or every one refused or failed).</summary>
    NoWorker,
}
