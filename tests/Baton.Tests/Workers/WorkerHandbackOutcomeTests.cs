using System.Net.Sockets;
using Baton.Tests.Channel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Tests.Workers;

/// <summary>
/// How a worker's handback ends, over a real channel with this test playing the front: only a handback the front never
/// saw leaves the session with the worker (which may then answer on it); one sent and not acknowledged must never be
/// written to again by the worker, since the front may have passed it on.
/// </summary>
public sealed class WorkerHandbackOutcomeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnAcknowledgedHandbackIsTaken()
    {
        await using Started t = await StartAsync();
        Task<HandbackOutcome> handingBack = t.Listener.HandBackAsync(1, "body"u8.ToArray(), t.Client.SafeHandle);
        ReceivedMessage handback = await WorkerListenerTests.ReceiveAsync(t.Front, t.Buffer);
        Assert.Equal((MessageType.Handback, 1UL, 4), (handback.Type, handback.ConnectionId, handback.BodyLength));
        handback.Fd?.Dispose();

        t.Front.Send(MessageType.HandbackAck, 1, []);
        Assert.Equal(HandbackOutcome.Taken, await handingBack.WaitAsync(Deadline));
    }

    [Fact]
    public async Task AHandbackSentAndNeverAcknowledgedIsUnansweredNotTheWorkersAgain()
    {
        await using Started t = await StartAsync();
        Task<HandbackOutcome> handingBack = t.Listener.HandBackAsync(1, "body"u8.ToArray(), t.Client.SafeHandle);
        ReceivedMessage handback = await WorkerListenerTests.ReceiveAsync(t.Front, t.Buffer);
        Assert.Equal(MessageType.Handback, handback.Type);
        handback.Fd?.Dispose();

        // The front goes away after it received the connection: it may have handed it to another worker.
        t.Front.Dispose();
        Assert.Equal(HandbackOutcome.Unanswered, await handingBack.WaitAsync(Deadline));
    }

    [Fact]
    public async Task AHandbackThatCannotBeSentStaysWithTheWorker()
    {
        await using Started t = await StartAsync();
        t.Front.Dispose();
        // A send to a closed peer fails at once (EPIPE): the front never saw it.
        Assert.Equal(HandbackOutcome.NotSent, await t.Listener.HandBackAsync(1, "body"u8.ToArray(), t.Client.SafeHandle).WaitAsync(Deadline));
    }

    private static async Task<Started> StartAsync()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await WorkerListenerTests.StartAsync(listener, front, buffer);
        Socket client = await WorkerListenerTests.ConnectedSocketAsync();
        return new Started(front, listener, client, buffer);
    }

    private sealed record Started(ChannelSocket Front, WorkerListener Listener, Socket Client, byte[] Buffer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Front.Dispose();
            await Listener.DisposeAsync();
            Client.Dispose();
        }
    }
}
