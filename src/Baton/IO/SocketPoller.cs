using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Baton.IO;

/// <summary>
/// The front's own epoll loops for client sockets it works on before handing them off: one thread and one epoll set
/// per loop, each socket in one loop (round robin at its first wait) for as long as it is registered.
/// </summary>
/// <remarks>
/// The front cannot use .NET's async socket operations on a connection it hands off: the runtime
/// registers the socket in its process-wide epoll set and only drops the registration when the last
/// descriptor of the socket is closed — which, after SCM_RIGHTS, lives in the worker. The front would
/// then be woken for every segment the worker receives. This poller uses one-shot registrations and
/// deletes them explicitly (<see cref="Forget"/>) before a socket leaves the process.
/// <para>
/// With <c>runToCompletion</c> (the front's), what awaits a readiness runs on the loop's thread, as nginx and HAProxy
/// run a connection: readiness, the OpenSSL step, the next wait, with no hop to the thread pool in between. Code that
/// awaits these waits must therefore never block (the front's sends are non-blocking, channel sends included).
/// </para>
/// </remarks>
internal sealed class SocketPoller : IDisposable
{
    private readonly EventLoop[] _loops;
    private readonly ConcurrentDictionary<int, Registration> _registrations = new();
    private readonly TaskCreationOptions _waiterOptions;
    private volatile bool _disposed;
    private volatile Exception? _failure;
    private long _generation;
    private int _nextLoop;

    /// <param name="loops">Threads, each with its own epoll set.</param>
    /// <param name="runToCompletion">Run what awaits a wait on the loop's thread instead of the thread pool's.</param>
    public SocketPoller(int loops = 1, bool runToCompletion = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(loops, 1);
        _waiterOptions = runToCompletion ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
        _loops = new EventLoop[loops];
        try
        {
            for (int i = 0; i < loops; i++)
                _loops[i] = new EventLoop(this, $"baton-front-loop-{i}");
        }
        catch
        {
            foreach (EventLoop? loop in _loops)
                loop?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Completes when <paramref name="socket"/> is readable (or writable), has an error, or hung up,
    /// with the epoll event bits that fired.
    /// </summary>
    public Task<uint> WaitAsync(SafeHandle socket, bool writable, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
            return Task.FromException<uint>(_failure);
        int fd = (int)socket.DangerousGetHandle();
        Registration registration = _registrations.GetOrAdd(fd, static (_, poller) => poller.NewRegistration(), this);
        var waiter = new TaskCompletionSource<uint>(_waiterOptions);
        uint events = (writable ? Interop.Libc.EPOLLOUT : Interop.Libc.EPOLLIN) | Interop.Libc.EPOLLRDHUP | Interop.Libc.EPOLLONESHOT;
        lock (registration)
        {
            registration.Waiter = waiter;
            int op = registration.InEpoll ? Interop.Libc.EPOLL_CTL_MOD : Interop.Libc.EPOLL_CTL_ADD;
            // The generation in the event's data lets the loop drop an event that was already queued
            // for an earlier socket with the same descriptor number (closed, then reused by accept).
            if (Interop.Libc.EpollControl(registration.Loop.EpollFd, op, fd, events, registration.Generation << 32 | (uint)fd) == -1)
                return Task.FromException<uint>(Interop.ErrnoException("epoll_ctl", Interop.LastErrno));
            registration.InEpoll = true;
        }
        return cancellationToken.CanBeCanceled ? WaitCancellable(waiter, cancellationToken) : waiter.Task;
    }

    private static async Task<uint> WaitCancellable(TaskCompletionSource<uint> waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource<uint>)state!).TrySetCanceled(token), waiter))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the next loop's thread (round robin; inline when that is this thread), where the
    /// sockets it waits on first then stay: an accepted connection is served from its first step to its handoff on one
    /// loop. <paramref name="work"/> must not throw (it starts an async method, whose task holds what goes wrong).
    /// </summary>
    public void Post(Action<object?> work, object? state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EventLoop loop = NextLoop();
        if (loop == EventLoop.CurrentLoop)
            work(state);
        else
            loop.Post(work, state);
    }

    /// <summary>Removes the socket from the epoll set. Call before the socket is closed or handed off.</summary>
    public void Forget(SafeHandle socket)
    {
        int fd = (int)socket.DangerousGetHandle();
        if (!_registrations.TryRemove(fd, out Registration? registration))
            return;
        lock (registration)
        {
            if (registration.InEpoll)
                Interop.Libc.EpollControl(registration.Loop.EpollFd, Interop.Libc.EPOLL_CTL_DEL, fd, 0, 0);
            registration.InEpoll = false;
        }
        // Outside the lock: with run-to-completion, what awaited the wait runs here.
        registration.Take()?.TrySetCanceled();
    }

    /// <summary>On a loop's thread the socket joins that loop (what runs there goes on there); elsewhere the next one.</summary>
    private Registration NewRegistration()
    {
        EventLoop loop = EventLoop.CurrentLoop is { } current && current.Owner == this ? current : NextLoop();
        return new Registration(loop, (ulong)Interlocked.Increment(ref _generation) & 0xFFFF_FFFF);
    }

    private EventLoop NextLoop() => _loops[(uint)Interlocked.Increment(ref _nextLoop) % (uint)_loops.Length];

    /// <summary>An event for the descriptor and generation in <paramref name="data"/> (a generation is one registration's, so one loop's).</summary>
    private void Dispatch(ulong data, uint events)
    {
        if (_registrations.TryGetValue((int)(uint)data, out Registration? registration) && registration.Generation == data >> 32)
            registration.Signal(events);
    }

    /// <summary>A loop cannot go on: every waiting connection fails now instead of at its timeout.</summary>
    private void FailAll(Exception reason)
    {
        _failure = reason;
        foreach (Registration registration in _registrations.Values)
            registration.Take()?.TrySetException(reason);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (EventLoop loop in _loops)
            loop.Dispose();
        foreach (Registration registration in _registrations.Values)
            registration.Take()?.TrySetCanceled();
        _registrations.Clear();
    }

    private sealed class Registration(EventLoop loop, ulong generation)
    {
        public EventLoop Loop { get; } = loop;
        public ulong Generation { get; } = generation;
        public bool InEpoll;
        public TaskCompletionSource<uint>? Waiter;

        public TaskCompletionSource<uint>? Take()
        {
            lock (this)
            {
                TaskCompletionSource<uint>? waiter = Waiter;
                Waiter = null;
                return waiter;
            }
        }

        public void Signal(uint events) => Take()?.TrySetResult(events);
    }

    /// <summary>One of the poller's loops: its registrations' events, and the work posted to it.</summary>
    private sealed class EventLoop : EpollThread
    {
        private readonly ConcurrentQueue<(Action<object?> Work, object? State)> _posted = new();

        public EventLoop(SocketPoller owner, string name) : base(name)
        {
            Owner = owner;
            Start();
        }

        public SocketPoller Owner { get; }

        /// <summary>The loop whose thread this is, if it is one.</summary>
        public static EventLoop? CurrentLoop => Current as EventLoop;

        public void Post(Action<object?> work, object? state)
        {
            _posted.Enqueue((work, state));
            Wake();
        }

        // What awaited the wait runs inside (run-to-completion); an exception in it stays in its own task.
        protected override void OnEvent(ulong data, uint events) => Owner.Dispatch(data, events);

        protected override void OnWakeup()
        {
            while (!IsStopping && _posted.TryDequeue(out (Action<object?> Work, object? State) item))
                item.Work(item.State);
        }

        protected override void OnFailed(Exception reason) => Owner.FailAll(reason);
    }
}
