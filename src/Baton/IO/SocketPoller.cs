using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Baton.IO;

/// <summary>
/// The front's own epoll loop for client sockets it inspects before handing them off.
/// </summary>
/// <remarks>
/// The front cannot use .NET's async socket operations on a connection it hands off: the runtime
/// registers the socket in its process-wide epoll set and only drops the registration when the last
/// descriptor of the socket is closed — which, after SCM_RIGHTS, lives in the worker. The front would
/// then be woken for every segment the worker receives. This poller uses one-shot registrations and
/// deletes them explicitly (<see cref="Forget"/>) before a socket leaves the process.
/// </remarks>
internal sealed class SocketPoller : IDisposable
{
    private const int MaxEvents = 128;

    private readonly SafeFileHandle _epoll;
    private readonly SafeFileHandle _wakeup;
    private readonly ConcurrentDictionary<int, Registration> _registrations = new();
    private readonly Thread _thread;
    private volatile bool _disposed;
    private volatile Exception? _failure;
    private long _generation;

    public SocketPoller()
    {
        _epoll = new SafeFileHandle(Interop.ThrowIfMinusOne(Interop.Libc.EpollCreate1(Interop.Libc.EPOLL_CLOEXEC), "epoll_create1"), ownsHandle: true);
        _wakeup = new SafeFileHandle(
            Interop.ThrowIfMinusOne(Interop.Libc.EventFd(0, Interop.Libc.EFD_CLOEXEC | Interop.Libc.EFD_NONBLOCK), "eventfd"), ownsHandle: true);
        int wakeFd = (int)_wakeup.DangerousGetHandle();
        Interop.ThrowIfMinusOne(
            Interop.Libc.EpollControl(EpollFd, Interop.Libc.EPOLL_CTL_ADD, wakeFd, Interop.Libc.EPOLLIN, ulong.MaxValue), "epoll_ctl");
        _thread = new Thread(Run) { IsBackground = true, Name = "baton-front-poller" };
        _thread.Start();
    }

    private int EpollFd => (int)_epoll.DangerousGetHandle();

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
        Registration registration = _registrations.GetOrAdd(fd, static (_, poller) => new Registration(poller.NextGeneration()), this);
        var waiter = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
        uint events = (writable ? Interop.Libc.EPOLLOUT : Interop.Libc.EPOLLIN) | Interop.Libc.EPOLLRDHUP | Interop.Libc.EPOLLONESHOT;
        lock (registration)
        {
            registration.Waiter = waiter;
            int op = registration.InEpoll ? Interop.Libc.EPOLL_CTL_MOD : Interop.Libc.EPOLL_CTL_ADD;
            // The generation in the event's data lets the loop drop an event that was already queued
            // for an earlier socket with the same descriptor number (closed, then reused by accept).
            if (Interop.Libc.EpollControl(EpollFd, op, fd, events, registration.Generation << 32 | (uint)fd) == -1)
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

    /// <summary>Removes the socket from the epoll set. Call before the socket is closed or handed off.</summary>
    public void Forget(SafeHandle socket)
    {
        int fd = (int)socket.DangerousGetHandle();
        if (!_registrations.TryRemove(fd, out Registration? registration))
            return;
        lock (registration)
        {
            if (registration.InEpoll)
                Interop.Libc.EpollControl(EpollFd, Interop.Libc.EPOLL_CTL_DEL, fd, 0, 0);
            registration.InEpoll = false;
            registration.Waiter?.TrySetCanceled();
        }
    }

    private unsafe void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Interop.Libc.EpollEventSize));
        try
        {
            while (!_disposed)
            {
                int count = Interop.Libc.EpollWait(EpollFd, events, MaxEvents, -1);
                if (count == -1)
                {
                    int errno = Interop.LastErrno;
                    if (errno == Interop.EINTR) continue;
                    FailAll(Interop.ErrnoException("epoll_wait", errno));
                    return;
                }
                for (int i = 0; i < count; i++)
                {
                    byte* entry = events + i * Interop.Libc.EpollEventSize;
                    ulong data = *(ulong*)(entry + Interop.Libc.EpollDataOffset);
                    if (data == ulong.MaxValue)
                        Interop.Libc.EventFdDrain((int)_wakeup.DangerousGetHandle());
                    else if (_registrations.TryGetValue((int)(uint)data, out Registration? registration) && registration.Generation == data >> 32)
                        registration.Signal(*(uint*)entry);
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    /// <summary>The loop cannot go on: every waiting connection fails now instead of at its timeout.</summary>
    private void FailAll(Exception reason)
    {
        _failure = reason;
        foreach (Registration registration in _registrations.Values)
            registration.Waiter?.TrySetException(reason);
    }

    private ulong NextGeneration() => (ulong)Interlocked.Increment(ref _generation) & 0xFFFF_FFFF;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interop.Libc.EventFdSignal((int)_wakeup.DangerousGetHandle());
        _thread.Join();
        foreach (Registration registration in _registrations.Values)
            registration.Waiter?.TrySetCanceled();
        _registrations.Clear();
        _epoll.Dispose();
        _wakeup.Dispose();
    }

    private sealed class Registration(ulong generation)
    {
        public ulong Generation { get; } = generation;
        public bool InEpoll;
        public TaskCompletionSource<uint>? Waiter;

        public void Signal(uint events)
        {
            TaskCompletionSource<uint>? waiter;
            lock (this)
            {
                waiter = Waiter;
                Waiter = null;
            }
            waiter?.TrySetResult(events);
        }
    }
}
