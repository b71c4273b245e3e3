using System.Net.Sockets;
using System.Security.Cryptography;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.IO;

/// <summary>The front's view of a client socket, on real loopback connections and a real poller.</summary>
public sealed class PolledSocketTests : IDisposable
{
    private static readonly TimeSpan Deadline = LoopbackPair.Deadline;

    private readonly SocketPoller _poller = new();
    private readonly byte[] _buffer = new byte[64];

    public void Dispose() => _poller.Dispose();

    [Fact]
    public async Task PeekShowsTheQueuedBytesAndLeavesThemQueued()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send("hello"u8);

        Assert.Equal(5, await PeekAsync(socket, 0));
        Assert.Equal(5, await PeekAsync(socket, 0));
        Assert.Equal(5, await socket.ReceiveAsync(_buffer, CancellationToken.None).AsTask().WaitAsync(Deadline));
        Assert.Equal("hello"u8.ToArray(), _buffer[..5]);
    }

    [Fact]
    public async Task PeekWaitsForMoreThanItHasSeenThroughTheLowWaterMark()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send("hello"u8);
        Assert.Equal(5, await PeekAsync(socket, 0));

        Task<int> more = socket.PeekAsync(_buffer, 5, CancellationToken.None).AsTask();
        // The kernel, not a retry loop, holds the wait: readable again only once a sixth byte is queued.
        await Wait.UntilAsync(() => pair.ServerReceiveLowWater == 6, "SO_RCVLOWAT is raised past what was seen");
        Assert.False(more.IsCompleted);
        pair.Send(" world"u8);
        Assert.Equal(11, await more.WaitAsync(Deadline));
        Assert.Equal("hello world"u8.ToArray(), _buffer[..11]);
    }

    [Fact]
    public async Task PeekIsCappedByTheBuffer()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send("0123456789"u8);
        byte[] small = new byte[4];
        // A full buffer is an answer even when nothing new came: the caller decides what "too large" means.
        Assert.Equal(4, await socket.PeekAsync(small, 0, CancellationToken.None).AsTask().WaitAsync(Deadline));
        Assert.Equal(4, await socket.PeekAsync(small, 4, CancellationToken.None).AsTask().WaitAsync(Deadline));
    }

    [Fact]
    public async Task PeekReturnsZeroWhenThePeerClosesInsteadOfSendingMore()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send("hello"u8);
        Assert.Equal(5, await PeekAsync(socket, 0));
        Task<int> more = socket.PeekAsync(_buffer, 5, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => pair.ServerReceiveLowWater == 6, "the peek waits for a sixth byte");

        pair.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await more.WaitAsync(Deadline));
    }

    [Fact]
    public async Task PeekReturnsZeroWhenThePeerClosesBeforeSendingAnything()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<int> first = socket.PeekAsync(_buffer, 0, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the peek waits");
        pair.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await first.WaitAsync(Deadline));
    }

    [Fact]
    public async Task PeekFailsWhenThePeerResets()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<int> first = socket.PeekAsync(_buffer, 0, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the peek waits");
        pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close();
        SocketException reset = await Assert.ThrowsAsync<SocketException>(() => first.WaitAsync(Deadline));
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
    }

    [Fact]
    public async Task ReceiveWaitsForDataResetsTheLowWaterMarkAndReturnsZeroAtTheEnd()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        await RaiseLowWaterAsync(pair, socket);

        Assert.Equal(6, await socket.ReceiveAsync(_buffer, CancellationToken.None).AsTask().WaitAsync(Deadline));
        Assert.Equal(1, pair.ServerReceiveLowWater);
        Task<int> next = socket.ReceiveAsync(_buffer, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the receive waits");
        pair.Send("ping"u8);
        Assert.Equal(4, await next.WaitAsync(Deadline));
        Assert.Equal("ping"u8.ToArray(), _buffer[..4]);

        pair.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await socket.ReceiveAsync(_buffer, CancellationToken.None).AsTask().WaitAsync(Deadline));
    }

    [Fact]
    public async Task SendWaitsForRoomAndDeliversEverything()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        // Small buffers on both sides (the kernel doubles them): half a megabyte cannot be queued at once.
        pair.Server.SendBufferSize = 16 * 1024;
        pair.Client.ReceiveBufferSize = 16 * 1024;
        byte[] payload = RandomNumberGenerator.GetBytes(512 * 1024);

        Task send = socket.SendAsync(payload, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLOUT), "the send waits for room");
        Assert.False(send.IsCompleted);
        byte[] received = new byte[payload.Length];
        int total = 0;
        while (total < received.Length)
        {
            int read = await pair.Client.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Deadline);
            Assert.NotEqual(0, read);
            total += read;
        }
        await send.WaitAsync(Deadline);
        Assert.Equal(payload, received);
    }

    [Fact]
    public async Task PrepareForHandoffResetsTheLowWaterMarkAndLeavesTheEpollSet()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        await RaiseLowWaterAsync(pair, socket);
        Assert.Equal(6, pair.ServerReceiveLowWater);
        Assert.NotEmpty(EpollView.Masks(pair.Server.SafeHandle));

        socket.PrepareForHandoff();

        // Socket options travel with the descriptor; the worker must find the defaults and no front registration.
        Assert.Equal(1, pair.ServerReceiveLowWater);
        Assert.Empty(EpollView.Masks(pair.Server.SafeHandle));
        // Peeking consumed nothing: the worker reads every byte.
        Assert.Equal(6, pair.Server.Receive(_buffer));
        Assert.Equal("hello!"u8.ToArray(), _buffer[..6]);
    }

    [Fact]
    public async Task DisposeEndsAPendingWaitAndClosesTheConnection()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        var socket = new PolledSocket(pair.Server, _poller);
        Task<int> pending = socket.PeekAsync(_buffer, 0, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the peek waits");

        socket.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Deadline));
        Assert.Equal(0, await pair.Client.ReceiveAsync(_buffer).WaitAsync(Deadline));
    }

    private Task<int> PeekAsync(PolledSocket socket, int alreadySeen) =>
        socket.PeekAsync(_buffer, alreadySeen, CancellationToken.None).AsTask().WaitAsync(Deadline);

    /// <summary>"hello" seen, then a wait for more answered by "!": SO_RCVLOWAT is left at 6, the socket registered.</summary>
    private async Task RaiseLowWaterAsync(LoopbackPair pair, PolledSocket socket)
    {
        pair.Send("hello"u8);
        Assert.Equal(5, await PeekAsync(socket, 0));
        Task<int> more = socket.PeekAsync(_buffer, 5, CancellationToken.None).AsTask();
        await Wait.UntilAsync(() => pair.ServerReceiveLowWater == 6, "the peek waits for a sixth byte");
        pair.Send("!"u8);
        Assert.Equal(6, await more.WaitAsync(Deadline));
    }
}
