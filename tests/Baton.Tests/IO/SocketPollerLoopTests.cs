using Baton.Tests.Infrastructure;

namespace Baton.Tests.IO;

/// <summary>The front's event loops: each socket belongs to one loop, and with run-to-completion what awaits its readiness runs there.</summary>
public sealed partial class SocketPollerTests
{
    [Fact]
    public async Task WithRunToCompletionWhatAwaitsAWaitRunsOnTheLoopThatOwnsTheSocket()
    {
        using var poller = new SocketPoller(loops: 2, runToCompletion: true);
        using LoopbackPair first = await LoopbackPair.ConnectAsync();
        using LoopbackPair second = await LoopbackPair.ConnectAsync();
        Task<string?> firstThread = ThreadAfterReadinessAsync(poller, first);
        Task<string?> secondThread = ThreadAfterReadinessAsync(poller, second);

        first.Send("x"u8);
        second.Send("y"u8);
        string? one = await firstThread.WaitAsync(Deadline), other = await secondThread.WaitAsync(Deadline);
        Assert.StartsWith("baton-front-loop-", one);
        Assert.StartsWith("baton-front-loop-", other);
        // Consecutive sockets go to different loops.
        Assert.NotEqual(one, other);
    }

    [Fact]
    public async Task WithoutRunToCompletionWhatAwaitsAWaitRunsOnTheThreadPool()
    {
        using var poller = new SocketPoller();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        Task<string?> thread = ThreadAfterReadinessAsync(poller, pair, pool: true);
        pair.Send("x"u8);
        Assert.Equal("pool", await thread.WaitAsync(Deadline));
    }

    [Fact]
    public async Task AContinuationOnALoopCanWaitAgainAndTheLoopGoesOnServingOthers()
    {
        using var poller = new SocketPoller(loops: 1, runToCompletion: true);
        using LoopbackPair chatty = await LoopbackPair.ConnectAsync();
        using LoopbackPair other = await LoopbackPair.ConnectAsync();
        async Task<int> TwoWakesAsync()
        {
            await poller.WaitAsync(chatty.Server.SafeHandle, writable: false, CancellationToken.None).ConfigureAwait(false);
            chatty.Server.Receive(new byte[1]);
            // Re-armed from the loop's own thread, inside its event dispatch.
            await poller.WaitAsync(chatty.Server.SafeHandle, writable: false, CancellationToken.None).ConfigureAwait(false);
            return chatty.Server.Receive(new byte[1]);
        }
        Task<int> twoWakes = TwoWakesAsync();
        Task<uint> otherWait = poller.WaitAsync(other.Server.SafeHandle, writable: false, CancellationToken.None);

        chatty.Send("a"u8);
        other.Send("b"u8);
        Assert.NotEqual(0u, await otherWait.WaitAsync(Deadline) & In);
        chatty.Send("c"u8);
        Assert.Equal(1, await twoWakes.WaitAsync(Deadline));
    }

    [Fact]
    public async Task PostedWorkRunsOnTheLoopsInTurnAndWhatItWaitsOnStaysOnItsLoop()
    {
        using var poller = new SocketPoller(loops: 2, runToCompletion: true);
        using LoopbackPair first = await LoopbackPair.ConnectAsync();
        using LoopbackPair second = await LoopbackPair.ConnectAsync();
        Task<(string? Posted, string? AfterWait)> one = PostWaitingAsync(poller, first);
        Task<(string? Posted, string? AfterWait)> other = PostWaitingAsync(poller, second);

        first.Send("x"u8);
        second.Send("y"u8);
        (string? postedOne, string? afterOne) = await one.WaitAsync(Deadline);
        (string? postedOther, string? afterOther) = await other.WaitAsync(Deadline);
        Assert.StartsWith("baton-front-loop-", postedOne);
        Assert.StartsWith("baton-front-loop-", postedOther);
        Assert.NotEqual(postedOne, postedOther);
        // An accepted connection is served on the loop it was posted to, from its first wait on.
        Assert.Equal(postedOne, afterOne);
        Assert.Equal(postedOther, afterOther);
    }

    private static Task<(string? Posted, string? AfterWait)> PostWaitingAsync(SocketPoller poller, LoopbackPair pair)
    {
        var result = new TaskCompletionSource<(string?, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        poller.Post(static state =>
        {
            var (poller, pair, result) = ((SocketPoller, LoopbackPair, TaskCompletionSource<(string?, string?)>))state!;
            _ = WaitThenReportAsync(poller, pair, result);
        }, (poller, pair, result));
        return result.Task;
    }

    private static async Task WaitThenReportAsync(SocketPoller poller, LoopbackPair pair, TaskCompletionSource<(string?, string?)> result)
    {
        string? posted = Thread.CurrentThread.Name;
        await poller.WaitAsync(pair.Server.SafeHandle, writable: false, CancellationToken.None).ConfigureAwait(false);
        result.SetResult((posted, Thread.CurrentThread.Name));
    }

    private static async Task<string?> ThreadAfterReadinessAsync(SocketPoller poller, LoopbackPair pair, bool pool = false)
    {
        await poller.WaitAsync(pair.Server.SafeHandle, writable: false, CancellationToken.None).ConfigureAwait(false);
        return pool && Thread.CurrentThread.IsThreadPoolThread ? "pool" : Thread.CurrentThread.Name;
    }
}
