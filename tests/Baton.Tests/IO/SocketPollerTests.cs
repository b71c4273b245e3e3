using System.Runtime.InteropServices;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.IO;

/// <summary>
/// The front's epoll loop on real loopback sockets. What the kernel's epoll set holds is read from
/// /proc/self/fdinfo (<see cref="EpollView"/>), so "armed", "disarmed" and "forgotten" are the kernel's word.
/// </summary>
public sealed partial class SocketPollerTests
{
    private const uint In = Interop.Libc.EPOLLIN;
    private const int CloseOnExec = 0x80000; // O_CLOEXEC
    private static readonly TimeSpan Deadline = LoopbackPair.Deadline;

    [Fact]
    public async Task WakesOnlyTheSocketThatBecameReadable()
    {
        using var poller = new SocketPoller();
        using LoopbackPair quiet = await LoopbackPair.ConnectAsync();
        using LoopbackPair talking = await LoopbackPair.ConnectAsync();
        Task<uint> quietWait = poller.WaitAsync(quiet.Server.SafeHandle, writable: false, CancellationToken.None);
        Task<uint> talkingWait = poller.WaitAsync(talking.Server.SafeHandle, writable: false, CancellationToken.None);

        talking.Send("x"u8);
        Assert.NotEqual(0u, await talkingWait.WaitAsync(Deadline) & In);
        await RoundTripAsync(poller);

        Assert.False(quietWait.IsCompleted);
        Assert.True(EpollView.IsArmed(quiet.Server.SafeHandle, In));
        quiet.Send("y"u8);
        Assert.NotEqual(0u, await quietWait.WaitAsync(Deadline) & In);
    }

    [Fact]
    public async Task AWakeDisarmsTheSocketAndTheNextWaitRearmsIt()
    {
        using var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        SafeHandle socket = pair.Server.SafeHandle;
        Task<uint> first = poller.WaitAsync(socket, writable: false, CancellationToken.None);
        pair.Send("x"u8);
        await first.WaitAsync(Deadline);

        // One-shot: still in the set, but the unread byte wakes nobody until someone waits again.
        Assert.NotEmpty(EpollView.Masks(socket));
        Assert.False(EpollView.IsArmed(socket, EpollView.ReadinessBits));

        Assert.NotEqual(0u, await poller.WaitAsync(socket, writable: false, CancellationToken.None).WaitAsync(Deadline) & In);
        Assert.NotEqual(0u, await poller.WaitAsync(socket, writable: true, CancellationToken.None).WaitAsync(Deadline) & Interop.Libc.EPOLLOUT);
    }

    [Fact]
    public async Task APeerThatClosesIsReportedAsReadHangUp()
    {
        using var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        Task<uint> wait = poller.WaitAsync(pair.Server.SafeHandle, writable: false, CancellationToken.None);
        pair.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.NotEqual(0u, await wait.WaitAsync(Deadline) & Interop.Libc.EPOLLRDHUP);
    }

    [Fact]
    public async Task ForgetCancelsTheWaitAndLeavesNothingInTheEpollSet()
    {
        using var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        SafeHandle socket = pair.Server.SafeHandle;
        // The baseline: not even .NET's own socket engine watches the server side.
        Assert.Empty(EpollView.Masks(socket));
        Task<uint> wait = poller.WaitAsync(socket, writable: false, CancellationToken.None);
        Assert.NotEmpty(EpollView.Masks(socket));

        poller.Forget(socket);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Deadline));
        // What a handed-off descriptor needs: no registration left to wake the front for the worker's traffic.
        Assert.Empty(EpollView.Masks(socket));
        poller.Forget(socket);

        // Forgotten is not broken: a later wait registers it afresh.
        pair.Send("x"u8);
        Assert.NotEqual(0u, await poller.WaitAsync(socket, writable: false, CancellationToken.None).WaitAsync(Deadline) & In);
    }

    [Fact]
    public async Task ACancelledWaitLosesNoReadiness()
    {
        using var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        SafeHandle socket = pair.Server.SafeHandle;
        using var cancel = new CancellationTokenSource();
        Task<uint> wait = poller.WaitAsync(socket, writable: false, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Deadline));

        // The item stayed armed for the cancelled waiter; its event is consumed and wakes nobody...
        pair.Send("x"u8);
        await Wait.UntilAsync(() => !EpollView.IsArmed(socket, EpollView.ReadinessBits), "the poller took the event of the cancelled wait");
        // ...and the next wait re-arms and sees the byte still queued.
        Assert.NotEqual(0u, await poller.WaitAsync(socket, writable: false, CancellationToken.None).WaitAsync(Deadline) & In);
    }

    /// <summary>
    /// A descriptor number that now names another socket while the kernel still holds an item for the old one (its
    /// file lives on elsewhere, as a handed-off socket does in a worker): the old socket's events carry the old
    /// registration's generation and must not wake the new socket's waiter.
    /// </summary>
    [Fact]
    public async Task AReusedDescriptorNumberIsNotWokenByTheOldSocketsEvents()
    {
        using var poller = new SocketPoller();
        using LoopbackPair old = await LoopbackPair.ConnectAsync();
        using LoopbackPair reused = await LoopbackPair.ConnectAsync();
        using SafeFdHandle number = SafeFdHandle.Duplicate(old.Server.SafeHandle);
        Task<uint> oldWait = poller.WaitAsync(number, writable: false, CancellationToken.None);

        // The number now names the other socket; the old socket's file stays open through old.Server.
        Assert.True(Dup3(reused.Server.SafeHandle.DangerousGetHandle().ToInt32(), number.Fd, CloseOnExec) == number.Fd,
            $"dup3 failed: errno {Marshal.GetLastPInvokeError()}");
        poller.Forget(number);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => oldWait.WaitAsync(Deadline));
        Assert.True(EpollView.IsArmed(old.Server.SafeHandle, number.Fd, In), "the precondition: the kernel still holds the old socket's armed item");

        Task<uint> reusedWait = poller.WaitAsync(number, writable: false, CancellationToken.None);
        old.Send("stale"u8);
        await Wait.UntilAsync(() => !EpollView.IsArmed(old.Server.SafeHandle, number.Fd, In), "the old item fired");
        await RoundTripAsync(poller);
        Assert.False(reusedWait.IsCompleted, "the old socket's event woke the socket that reuses its number");

        reused.Send("fresh"u8);
        Assert.NotEqual(0u, await reusedWait.WaitAsync(Deadline) & In);
    }

    [Fact]
    public async Task DisposeCancelsPendingWaitsAndRefusesNewOnes()
    {
        var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        Task<uint> wait = poller.WaitAsync(pair.Server.SafeHandle, writable: false, CancellationToken.None);
        poller.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Deadline));
        // Thrown at the call, not through the task: a disposed poller has no thread left to complete it.
        Assert.Throws<ObjectDisposedException>(() => { _ = poller.WaitAsync(pair.Server.SafeHandle, writable: false, CancellationToken.None); });
    }

    /// <summary>
    /// One event through the poller's single thread on a socket of its own: every event the kernel handed the
    /// poller before has been dispatched once this returns.
    /// </summary>
    private static async Task RoundTripAsync(SocketPoller poller)
    {
        using LoopbackPair marker = await LoopbackPair.ConnectAsync();
        Task<uint> wait = poller.WaitAsync(marker.Server.SafeHandle, writable: false, CancellationToken.None);
        marker.Send("m"u8);
        await wait.WaitAsync(Deadline);
        poller.Forget(marker.Server.SafeHandle);
    }

    [LibraryImport("libc", EntryPoint = "dup3", SetLastError = true)]
    private static partial int Dup3(int oldFd, int newFd, int flags);
}
