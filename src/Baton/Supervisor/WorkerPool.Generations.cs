using Microsoft.Extensions.Logging;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Supervisor;

/// <summary>
/// Rolling deploys (`baton restart POOL`, or a reload that changes what a pool's workers run): generation N+1 is started
/// beside N and must become ready in full; then new connections go to it and N drains. Its workers are sent Drain (they
/// hand back each HTTP/1.1 connection at its next request, send GOAWAY on h2, close passthrough connections at a request
/// boundary), are stopped once they hold no connection, and at ShutdownTimeout at the latest. A generation that does not
/// become ready is stopped and N serves on; <see cref="LastDeploy"/> says why.
/// </summary>
internal sealed partial class WorkerPool
{
    private readonly SemaphoreSlim _deploying = new(1, 1);
    private readonly List<WorkerGeneration> _draining = [];
    /// <summary>A deploy's generation until it serves or is given up: stopped with the rest if the front stops meanwhile.</summary>
    private volatile WorkerGeneration? _starting;

    private IEnumerable<WorkerProcess> StartingWorkers => _starting?.Running ?? [];

    /// <summary>The last deploy's outcome, for `baton status`; null before the first.</summary>
    public DeployResult? LastDeploy { get; private set; }

    /// <summary>The workers of replaced generations that have not exited yet.</summary>
    public IEnumerable<WorkerProcess> DrainingWorkers
    {
        get
        {
            lock (_draining)
                return [.. _draining.SelectMany(generation => generation.Running)];
        }
    }

    /// <summary>
    /// Starts a generation with <paramref name="options"/> and, once every worker of it is ready, makes it the serving one
    /// and drains the one it replaces. One deploy at a time per pool; the deadline is WorkerStartTimeout.
    /// </summary>
    public async Task<DeployResult> RestartAsync(PoolOptions options, string trigger, CancellationToken cancellationToken)
    {
        await _deploying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            WorkerGeneration previous = _serving;
            var next = new WorkerGeneration(previous.Number + 1, options);
            _logger.DeployStarting(Name, next.Number, trigger);
            _starting = next;
            string? failure;
            try
            {
                failure = _stopping ? "the front is stopping" : await StartAndWaitReadyAsync(next, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _starting = null;
            }
            if (failure is not null)
            {
                next.State = GenerationState.Failed;
                _logger.DeployFailed(Name, next.Number, failure, previous.Number);
                _ = StopGenerationAsync(next, drainFirst: false);
                return LastDeploy = new DeployResult(false, next.Number, previous.Number, trigger, DateTimeOffset.UtcNow, failure);
            }
            next.State = GenerationState.Serving;
            _serving = next;
            previous.State = GenerationState.Draining;
            lock (_draining)
                _draining.Add(previous);
            _logger.DeployServing(Name, next.Number, string.Join(",", next.Running.Select(w => w.Pid)), previous.Number);
            // Waiters for a worker (a dispatch, WaitReadyAsync) look again: the new generation may take them.
            OnWorkerChanged(null);
            _ = StopGenerationAsync(previous, drainFirst: true);
            return LastDeploy = new DeployResult(true, next.Number, previous.Number, trigger, DateTimeOffset.UtcNow, null);
        }
        finally
        {
            _deploying.Release();
        }
    }

    /// <summary>Null once every worker of <paramref name="next"/> is ready; otherwise why not (a worker exited, or the deadline).</summary>
    private async Task<string?> StartAndWaitReadyAsync(WorkerGeneration next, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_limits.WorkerStartTimeout);
        StartGeneration(next);
        try
        {
            await WaitUntilAsync(() => next.StartFailure is not null || next.AllReady, deadline.Token).ConfigureAwait(false);
            return next.StartFailure;
        }
        catch (OperationCanceledException)
        {
            return cancellationToken.IsCancellationRequested ? "the deploy was cancelled"
                : $"its workers did not all report ready within {_limits.WorkerStartTimeout}";
        }
    }

    /// <summary>
    /// Drain first (a replaced generation): Drain to each worker, then SIGTERM once it holds no connection or at
    /// ShutdownTimeout; then SIGKILL what is left after another ShutdownTimeout. Without (a failed one): SIGTERM at once.
    /// </summary>
    private async Task StopGenerationAsync(WorkerGeneration generation, bool drainFirst)
    {
        WorkerProcess[] workers = [.. generation.Running];
        try
        {
            if (drainFirst)
            {
                foreach (WorkerProcess worker in workers)
                {
                    if (!worker.TrySendDrain())
                        worker.Signal(Interop.Libc.SIGTERM);
                }
                await WaitUntilEmptyAsync(workers).ConfigureAwait(false);
            }
            await TerminateAsync(workers, _limits.ShutdownTimeout).ConfigureAwait(false);
            if (drainFirst)
                _logger.GenerationDrained(Name, generation.Number);
        }
        finally
        {
            lock (_draining)
                _draining.Remove(generation);
        }
    }

    /// <summary>Until every worker has exited or holds no connection (the front counts them: Ack, Closed, handback), or ShutdownTimeout.</summary>
    private async Task WaitUntilEmptyAsync(WorkerProcess[] workers)
    {
        using var deadline = new CancellationTokenSource(_limits.ShutdownTimeout);
        try
        {
            await WaitUntilAsync(() => _stopping || workers.All(w => w.Exited.IsCompleted || w.Outstanding == 0), deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The deadline: what is still connected is closed by the workers' own shutdown.
        }
    }
}

/// <summary>Where a generation is in its life: starting (not yet given connections), serving, draining, or given up.</summary>
internal enum GenerationState
{
    Starting,
    Serving,
    Draining,
    Failed,
}

/// <summary>One generation of a pool's workers: the settings they were started with and their slots.</summary>
internal sealed class WorkerGeneration(int number, PoolOptions options)
{
    public int Number { get; } = number;
    public PoolOptions Options { get; } = options;
    public WorkerProcess?[] Slots { get; } = new WorkerProcess?[options.Workers];
    public int[] ConsecutiveFailures { get; } = new int[options.Workers];
    public volatile GenerationState State;

    /// <summary>Why a starting generation was given up (its first failure); null while it may still become ready.</summary>
    public string? StartFailure => _startFailure;

    private volatile string? _startFailure;

    public IEnumerable<WorkerProcess> Running => Slots.OfType<WorkerProcess>();

    public bool AllReady => Slots.All(w => w is { IsReady: true });

    /// <summary>A starting generation that loses a worker is not restarted slot by slot: true when this gave it up.</summary>
    public bool FailStarting(string reason)
    {
        if (State != GenerationState.Starting)
            return false;
        Interlocked.CompareExchange(ref _startFailure, reason, null);
        return true;
    }
}

/// <summary>What a deploy did: the new generation serves (and the old one drains), or it was rolled back and why.</summary>
internal sealed record DeployResult(bool Succeeded, int Generation, int Previous, string Trigger, DateTimeOffset At, string? Failure);
