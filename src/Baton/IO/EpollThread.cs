using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Baton.IO;

/// <summary>
/// One thread waiting on one epoll set, woken through an eventfd for work handed to it and for shutdown: the loops
/// under the front's <see cref="SocketPoller"/> and a worker's <see cref="ReadinessLoop"/>. Subclasses say what an
/// event, a wake-up and a failed epoll_wait mean; none of those may throw (the thread has no one to throw to).
/// </summary>
internal abstract class EpollThread : IDisposable
{
    private const int MaxEvents = 128;
    /// <summary>The wake-up eventfd's data; a subclass's data is never all ones (it holds a descriptor number).</summary>
    private const ulong WakeupData = ulong.MaxValue;

    [ThreadStatic]
    private static EpollThread? t_current;

    private readonly SafeFileHandle _epoll;
    private readonly SafeFileHandle _wakeup;
    private readonly Thread _thread;
    private volatile bool _stopping;

    protected EpollThread(string name)
    {
        _epoll = new SafeFileHandle(Interop.ThrowIfMinusOne(Interop.Libc.EpollCreate1(Interop.Libc.EPOLL_CLOEXEC), "epoll_create1"), ownsHandle: true);
        _wakeup = new SafeFileHandle(
            Interop.ThrowIfMinusOne(Interop.Libc.EventFd(0, Interop.Libc.EFD_CLOEXEC | Interop.Libc.EFD_NONBLOCK), "eventfd"), ownsHandle: true);
        Interop.ThrowIfMinusOne(
            Interop.Libc.EpollControl(EpollFd, Interop.Libc.EPOLL_CTL_ADD, (int)_wakeup.DangerousGetHandle(), Interop.Libc.EPOLLIN, WakeupData), "epoll_ctl");
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>The epoll thread the calling thread is, if it is one.</summary>
    protected static EpollThread? Current => t_current;

    public int EpollFd => (int)_epoll.DangerousGetHandle();

    protected bool IsStopping => _stopping;

    /// <summary>Called by the subclass's constructor once its own fields are set.</summary>
    protected void Start() => _thread.Start();

    /// <summary>Wakes the thread: <see cref="OnWakeup"/> runs on it.</summary>
    protected void Wake() => Interop.Libc.EventFdSignal((int)_wakeup.DangerousGetHandle());

    /// <summary>An event for a registration's <paramref name="data"/>.</summary>
    protected abstract void OnEvent(ulong data, uint events);

    protected virtual void OnWakeup()
    {
    }

    /// <summary>epoll_wait failed: the thread stops after this.</summary>
    protected abstract void OnFailed(Exception reason);

    private unsafe void Run()
    {
        t_current = this;
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Interop.Libc.EpollEventSize));
        try
        {
            while (!_stopping)
            {
                int count = Interop.Libc.EpollWait(EpollFd, events, MaxEvents, -1);
                if (count == -1)
                {
                    int errno = Interop.LastErrno;
                    if (errno == Interop.EINTR) continue;
                    OnFailed(Interop.ErrnoException("epoll_wait", errno));
                    return;
                }
                for (int i = 0; i < count; i++)
                {
                    byte* entry = events + i * Interop.Libc.EpollEventSize;
                    ulong data = *(ulong*)(entry + Interop.Libc.EpollDataOffset);
                    if (data != WakeupData)
                    {
                        OnEvent(data, *(uint*)entry);
                        continue;
                    }
                    Interop.Libc.EventFdDrain((int)_wakeup.DangerousGetHandle());
                    if (!_stopping) OnWakeup();
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops the thread and waits for it (unless called on it), then closes the epoll set.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || _stopping) return;
        _stopping = true;
        Wake();
        if (_thread.IsAlive && _thread != Thread.CurrentThread)
            _thread.Join();
        _epoll.Dispose();
        _wakeup.Dispose();
    }
}
