using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Baton.IO;

/// <summary>
/// A worker's epoll loop for the client connections it serves: one thread, one epoll set, each socket registered at its
/// first wait, edge-triggered as .NET's own socket engine and Kestrel's transport wait, but for writes only from the
/// first write that has to wait (a fresh socket is writable: the loop would wake for it). An event only marks
/// a direction ready or takes the one operation waiting on it; what waited continues on the thread pool, never here,
/// and as in .NET's engine one pool work item takes the woken operations of an epoll batch, asking for another work
/// item whenever more are left, so a batch fans out over the pool's threads without a work item per operation.
/// <para>
/// With <c>inlineContinuations</c> (the relay worker, whose continuations only move bytes between non-blocking
/// sockets) a woken operation continues on the loop's thread instead, as hitch and nginx run: no pool hop, no thread
/// woken per event. Code that can block (an application's handlers) must not run on such a loop.
/// </para>
/// </summary>
/// <remarks>
/// The worker used to wrap every handed-off descriptor in a .NET <c>Socket</c>: ten syscalls to learn what the front
/// already knew (getsockopt ×4, fcntl ×3, fstat, getsockname, getpeername) and the runtime's per-socket engine state.
/// Edge-triggered registrations cost two epoll_ctl per connection (the add, and the delete before the close), and one
/// more for a connection whose writes ever wait; none per wait (the front's <see cref="SocketPoller"/> is one-shot
/// because it hands its sockets away).
/// </remarks>
internal sealed class ReadinessLoop : EpollThread, IThreadPoolWorkItem
{
    private const uint EPOLLET = 1u << 31;
    /// <summary>
    /// What a socket joins with when its first wait is a read: a fresh socket is writable, so registering for writes
    /// too would wake the loop once per connection for an edge no one waits on. Writes join the registration at the
    /// first write that has to wait, as they stay from then on.
    /// </summary>
    private const uint ReadRegistration = Interop.Libc.EPOLLIN | Interop.Libc.EPOLLRDHUP | EPOLLET;
    private const uint FullRegistration = ReadRegistration | Interop.Libc.EPOLLOUT;
    private const uint ReadEvents = Interop.Libc.EPOLLIN | Interop.Libc.EPOLLRDHUP | Interop.Libc.EPOLLHUP | Interop.Libc.EPOLLERR;
    private const uint WriteEvents = Interop.Libc.EPOLLOUT | Interop.Libc.EPOLLHUP | Interop.Libc.EPOLLERR;
    private const uint PeerClosedEvents = Interop.Libc.EPOLLRDHUP | Interop.Libc.EPOLLHUP | Interop.Libc.EPOLLERR;

    private readonly ConcurrentDictionary<int, Readiness> _registered = new();
    private readonly ConcurrentQueue<ReadinessWaiter> _woken = new();
    /// <summary>1 while a work item is queued that has not started taking from <see cref="_woken"/>.</summary>
    private int _dispatchQueued;
    private volatile Exception? _failure;
    private long _generation;
    private readonly bool _inlineContinuations;

    public ReadinessLoop(string threadName, bool inlineContinuations = false) : base(threadName)
    {
        _inlineContinuations = inlineContinuations;
        Start();
    }

    /// <summary>
    /// The readiness of <paramref name="socket"/>, which joins the epoll set at its first wait. Dispose it before the
    /// descriptor is closed: the number may come back with the next connection.
    /// </summary>
    public Readiness Register(SafeHandle socket)
    {
        ObjectDisposedException.ThrowIf(IsStopping, this);
        if (_failure is not null)
            throw new IOException("the worker's readiness loop stopped", _failure);
        var readiness = new Readiness(this, socket, (ulong)Interlocked.Increment(ref _generation) & 0xFFFF_FFFF);
        // The kernel gave this number out again, so whatever still holds it closed its descriptor without leaving:
        // that registration can never see an event again, and must not stop this connection from being served.
        Readiness? stale = null;
        _registered.AddOrUpdate(readiness.Fd, readiness, (_, previous) => { stale = previous; return readiness; });
        stale?.Fail(new ObjectDisposedException("socket", "the descriptor was closed and its number given to another connection"));
        return readiness;
    }

    /// <summary>
    /// Joins the epoll set, or widens the registration to <paramref name="events"/>; edge-triggered either way, and the
    /// kernel reports at once what is already ready of what was asked (a widened write direction included).
    /// </summary>
    private int Register(Readiness readiness, uint events, bool inEpoll)
    {
        ulong data = readiness.Generation << 32 | (uint)readiness.Fd;
        int op = inEpoll ? Interop.Libc.EPOLL_CTL_MOD : Interop.Libc.EPOLL_CTL_ADD;
        if (Interop.Libc.EpollControl(EpollFd, op, readiness.Fd, events, data) == 0)
            return 0;
        int errno = Interop.LastErrno;
        // The same connection back on the same number while another process still held it open: take the entry over.
        if (!inEpoll && errno == Interop.EEXIST && Interop.Libc.EpollControl(EpollFd, Interop.Libc.EPOLL_CTL_MOD, readiness.Fd, events, data) == 0)
            return 0;
        return errno == Interop.EEXIST ? Interop.LastErrno : errno;
    }

    /// <summary>
    /// Leaves the set before the descriptor closes: after a handback the front keeps the connection open, and the kernel
    /// drops an entry only with the file's last descriptor (the connection coming back on the same number would then
    /// meet its old entry). A registration already replaced (<see cref="Register"/>) leaves nothing.
    /// </summary>
    private void Remove(Readiness readiness, bool inEpoll)
    {
        if (!_registered.TryRemove(new KeyValuePair<int, Readiness>(readiness.Fd, readiness)))
            return;
        if (inEpoll && !IsStopping)
            Interop.Libc.EpollControl(EpollFd, Interop.Libc.EPOLL_CTL_DEL, readiness.Fd, 0, 0);
    }

    // The generation drops an event read for an earlier socket on the same descriptor number.
    protected override void OnEvent(ulong data, uint events)
    {
        if (!_registered.TryGetValue((int)(uint)data, out Readiness? readiness) || readiness.Generation != data >> 32)
            return;
        if ((events & PeerClosedEvents) != 0)
            readiness.PeerClosed = true;
        if ((events & ReadEvents) != 0 && readiness.Read.Signal())
            Wake(readiness.Read);
        if ((events & WriteEvents) != 0 && readiness.Write.Signal())
            Wake(readiness.Write);
    }

    private void Wake(ReadinessWaiter waiter)
    {
        if (_inlineContinuations)
        {
            waiter.Complete();
            return;
        }
        _woken.Enqueue(waiter);
        QueueDispatch();
    }

    private void QueueDispatch()
    {
        if (Interlocked.CompareExchange(ref _dispatchQueued, 1, 0) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>On a pool thread: completes woken operations, their continuations inline, another work item taking the rest.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        // Cleared, with a full fence, before the first take: a wake-up from now on queues a work item or this one sees
        // it (a plain write may be overtaken by the empty queue's read, and a waiter would sit there with no work item).
        Interlocked.Exchange(ref _dispatchQueued, 0);
        while (_woken.TryDequeue(out ReadinessWaiter? waiter))
        {
            if (!_woken.IsEmpty)
                QueueDispatch();
            waiter.Complete();
        }
    }

    protected override void OnFailed(Exception reason) => FailAll(reason);

    private void FailAll(Exception reason)
    {
        _failure ??= reason;
        foreach (Readiness readiness in _registered.Values)
            readiness.Fail(reason);
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing || IsStopping) return;
        base.Dispose(disposing);
        FailAll(new ObjectDisposedException(nameof(ReadinessLoop)));
    }

    /// <summary>One socket's two directions: each is ready (an event came that no attempt has used) or has one waiter.</summary>
    internal sealed class Readiness : IDisposable
    {
        private readonly ReadinessLoop _loop;
        private readonly Lock _gate = new();
        private readonly ReadinessWaiter _read = new();
        private readonly ReadinessWaiter _write = new();
        /// <summary>The directions registered in the epoll set; 0 until the first wait.</summary>
        private uint _registered;
        private bool _disposed;
        private bool _peerClosed;

        public Readiness(ReadinessLoop loop, SafeHandle socket, ulong generation)
        {
            _loop = loop;
            Fd = (int)socket.DangerousGetHandle();
            Generation = generation;
        }

        public int Fd { get; }
        public ulong Generation { get; }
        public ReadinessWaiter Read => _read;
        public ReadinessWaiter Write => _write;

        /// <summary>
        /// The peer closed its side (or the connection failed): set before the edge that said so is signalled, and never
        /// cleared. A read that takes the last bytes does not take the end with them, and no edge will announce it again.
        /// </summary>
        public bool PeerClosed
        {
            get => Volatile.Read(ref _peerClosed);
            set => Volatile.Write(ref _peerClosed, value);
        }

        /// <summary>Call before each attempt: an event from then on makes the next wait return at once.</summary>
        public void BeforeAttempt(bool write) => (write ? _write : _read).Consume();

        /// <summary>Completes when the direction was ready since <see cref="BeforeAttempt"/>, or is next.</summary>
        public ValueTask WaitAsync(bool write, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_loop._failure is Exception failure)
                    return ValueTask.FromException(new IOException("the worker's readiness loop stopped", failure));
                uint wanted = write ? FullRegistration : ReadRegistration;
                if ((_registered & wanted) != wanted)
                {
                    wanted |= _registered;
                    int errno = _loop.Register(this, wanted, inEpoll: _registered != 0);
                    if (errno != 0)
                        return ValueTask.FromException(new IOException("the worker could not wait on the connection", Interop.ErrnoException("epoll_ctl", errno)));
                    _registered = wanted;
                }
            }
            return (write ? _write : _read).WaitAsync(cancellationToken);
        }

        public void Fail(Exception reason)
        {
            _read.Fail(reason);
            _write.Fail(reason);
        }

        /// <summary>Leaves the loop; a wait still pending fails (the socket is being closed under it).</summary>
        public void Dispose()
        {
            bool inEpoll;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                inEpoll = _registered != 0;
            }
            _loop.Remove(this, inEpoll);
            Fail(new ObjectDisposedException("socket", "the connection was closed while an operation waited on it"));
        }
    }
}
