using System.Threading.Tasks.Sources;

namespace Baton.IO;

/// <summary>
/// One direction of a socket in a <see cref="ReadinessLoop"/>: either ready (an edge came that no attempt has used
/// since <see cref="Consume"/>) or holding the one operation waiting for the next edge. Reused for every wait, so a
/// wait allocates nothing unless it can be cancelled. The wait a signal took is completed apart from it
/// (<see cref="Complete"/>): on a pool thread, or on the loop's own thread where the loop runs continuations inline.
/// </summary>
internal sealed class ReadinessWaiter : IValueTaskSource
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _ready;
    private bool _waiting;
    private Exception? _failure;
    private CancellationTokenRegistration _cancellation;

    /// <summary>An attempt is about to run: edges before it are what it will see, later ones make the next wait return.</summary>
    public void Consume() => Volatile.Write(ref _ready, 0);

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        short version;
        lock (_gate)
        {
            if (_failure is not null)
                return ValueTask.FromException(_failure);
            if (_ready == 1)
            {
                _ready = 0;
                return ValueTask.CompletedTask;
            }
            if (cancellationToken.IsCancellationRequested)
                return ValueTask.FromCanceled(cancellationToken);
            if (_waiting)
                throw new InvalidOperationException("a second wait in the same direction while one is pending");
            _core.Reset();
            version = _core.Version;
            _waiting = true;
        }
        if (cancellationToken.CanBeCanceled)
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (waiter, version) = ((ReadinessWaiter, short))state!;
                    waiter.Cancel(version, token);
                },
                (this, version));
        return new ValueTask(this, version);
    }

    /// <summary>
    /// An edge, on the loop's thread: true when it took the waiting operation, which the caller then completes with
    /// <see cref="Complete"/> on a pool thread; otherwise the direction is marked ready for the next wait.
    /// </summary>
    public bool Signal()
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                _ready = 1;
                return false;
            }
            _waiting = false;
            return true;
        }
    }

    /// <summary>Ends the wait <see cref="Signal"/> took; what awaited it runs here, on the calling thread.</summary>
    public void Complete()
    {
        _core.RunContinuationsAsynchronously = false;
        _core.SetResult(true);
    }

    /// <summary>The socket is closed or the loop stopped: this wait and every later one fail with <paramref name="reason"/>.</summary>
    public void Fail(Exception reason)
    {
        lock (_gate)
        {
            _failure ??= reason;
            if (!_waiting) return;
            _waiting = false;
        }
        // Whoever fails it (a close, the loop stopping) must not run the reader's code inside that call.
        _core.RunContinuationsAsynchronously = true;
        _core.SetException(reason);
    }

    private void Cancel(short version, CancellationToken token)
    {
        lock (_gate)
        {
            // A callback late for a wait that already completed must not end the next one.
            if (!_waiting || _core.Version != version) return;
            _waiting = false;
        }
        _core.RunContinuationsAsynchronously = true;
        _core.SetException(new OperationCanceledException(token));
    }

    void IValueTaskSource.GetResult(short token)
    {
        _cancellation.Dispose();
        _cancellation = default;
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
