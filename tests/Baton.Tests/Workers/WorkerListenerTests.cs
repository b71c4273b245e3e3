using System.Net;
using System.Net.Sockets;
using Baton.Tests.Channel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Tests.Workers;

/// <summary>A worker's end of a real channel (socketpair), with this test playing the front and passing real sockets.</summary>
public sealed class WorkerListenerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DrainingRefusesWhatComesNextAndStillYieldsWhatWasAcknowledged()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, buffer);

        using Socket first = await ConnectedSocketAsync();
        SendConnection(front, 1, first, buffer);
        ReceivedMessage ack = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Ack, 1UL), (ack.Type, ack.ConnectionId));

        listener.StopAccepting();
        using Socket second = await ConnectedSocketAsync();
        SendConnection(front, 2, second, buffer);
        ReceivedMessage refusal = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Rejected, 2UL), (refusal.Type, refusal.ConnectionId));

        // The acknowledged connection is still handed out, then the listener says there are no more.
        WorkerConnection? accepted = await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline);
        Assert.Equal(1UL, accepted?.Id);
        Assert.Null(await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline));

        await accepted!.DisposeAsync();
        ReceivedMessage closed = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Closed, 1UL), (closed.Type, closed.ConnectionId));
    }

    [Fact]
    public async Task ClosingAConnectionDoesNotWaitForTheFrontWhenItsQueueIsFull()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, buffer);
        using Socket client = await ConnectedSocketAsync();
        SendConnection(front, 1, client, buffer);
        Assert.Equal((MessageType.Ack, 1UL), Describe(await ReceiveAsync(front, buffer)));
        WorkerConnection? accepted = await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline);

        // A front that has not read for a while: the worker's queue to it is full.
        int queued = 0;
        while (workerEnd.TrySend(MessageType.Pong, (ulong)queued + 1, [], null))
            Assert.True(++queued < 1_000_000, "the channel never filled");

        // The close returns (in the relay it runs on the readiness loop) and Closed follows once the front reads.
        await Task.Run(async () => await accepted!.DisposeAsync()).WaitAsync(Deadline);
        for (int i = 0; i < queued; i++)
            Assert.Equal(MessageType.Pong, (await ReceiveAsync(front, buffer)).Type);
        Assert.Equal((MessageType.Closed, 1UL), Describe(await ReceiveAsync(front, buffer)));
    }

    [Fact]
    public async Task AWorkerWithoutRoomRefusesAndSaysReadyAgainOnceAConnectionHasClosed()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        // Room for one connection, as if its descriptor limit allowed no more.
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance, maxConnections: 1);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, buffer);

        using Socket first = await ConnectedSocketAsync();
        SendConnection(front, 1, first, buffer);
        Assert.Equal((MessageType.Ack, 1UL), Describe(await ReceiveAsync(front, buffer)));
        using Socket second = await ConnectedSocketAsync();
        SendConnection(front, 2, second, buffer);
        Assert.Equal((MessageType.Rejected, 2UL), Describe(await ReceiveAsync(front, buffer)));
        // The worker closed the copy it was sent: the socket's only descriptor left is this test's (the front's).
        Assert.Equal(1, DescriptorsOf(second));

        WorkerConnection? accepted = await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline);
        await accepted!.DisposeAsync();
        // Closed, then (within the resume interval) Ready; the timer may also get in first.
        ReceivedMessage[] next = [await ReceiveAsync(front, buffer), await ReceiveAsync(front, buffer)];
        Assert.Equal([(MessageType.Closed, 1UL), (MessageType.Ready, 0UL)], next.Select(Describe).OrderBy(m => m.Item1 != MessageType.Closed));

        using Socket third = await ConnectedSocketAsync();
        SendConnection(front, 3, third, buffer);
        Assert.Equal((MessageType.Ack, 3UL), Describe(await ReceiveAsync(front, buffer)));
    }

    [Fact]
    public async Task ADrainFromTheFrontCancelsDrainingAndTheChannelGoesOn()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, buffer);
        Assert.False(listener.Draining.IsCancellationRequested);

        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration registration = listener.Draining.Register(() => drained.TrySetResult());
        front.Send(MessageType.Drain, 0, []);
        await drained.Task.WaitAsync(Deadline);

        // Drain is not a protocol error: the same channel still answers pings.
        front.Send(MessageType.Ping, 9, []);
        ReceivedMessage pong = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Pong, 9UL), (pong.Type, pong.ConnectionId));
    }

    [Fact]
    public async Task APingIsAnsweredWithAPongOfTheSameNumberBetweenConnections()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, buffer);

        front.Send(MessageType.Ping, 7, []);
        ReceivedMessage pong = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Pong, 7UL), (pong.Type, pong.ConnectionId));

        // A ping is not a connection: the next connection is still acknowledged, and the next ping answered.
        using Socket socket = await ConnectedSocketAsync();
        SendConnection(front, 1, socket, buffer);
        ReceivedMessage ack = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Ack, 1UL), (ack.Type, ack.ConnectionId));
        front.Send(MessageType.Ping, 8, []);
        pong = await ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Pong, 8UL), (pong.Type, pong.ConnectionId));
    }

    private static (MessageType, ulong) Describe(ReceivedMessage message) => (message.Type, message.ConnectionId);

    /// <summary>How many descriptors of this process refer to <paramref name="socket"/> (the same socket:[inode]).</summary>
    private static int DescriptorsOf(Socket socket)
    {
        string? target = LinkTarget($"/proc/self/fd/{socket.SafeHandle.DangerousGetHandle()}");
        Assert.NotNull(target);
        return Directory.GetFiles("/proc/self/fd").Count(fd => LinkTarget(fd) == target);
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return File.ResolveLinkTarget(path, returnFinalTarget: false)?.ToString();
        }
        catch (IOException)
        {
            return null; // closed meanwhile by another test
        }
    }

    private static void SendConnection(ChannelSocket front, ulong id, Socket socket, byte[] buffer)
    {
        // Handoff facts need some TLS state; an unusable one (zeros) fails only when the connection is opened.
        var facts = new ConnectionFacts { Mode = HandoffMode.Handoff, Pool = "p", TlsStateLength = 16 };
        front.Send(MessageType.Connection, id, buffer.AsSpan(0, facts.WriteTo(buffer, out _)), socket.SafeHandle);
    }

    internal static Task<ReceivedMessage> ReceiveAsync(ChannelSocket front, byte[] buffer) =>
        Task.Run(() => front.Receive(buffer)).WaitAsync(Deadline);

    /// <summary>One end of a loopback TCP connection (the other end is closed: only the descriptor travels).</summary>
    /// <summary>Plays the front's start: Configure (by default a handoff pool), then waits for the worker's Ready.</summary>
    internal static async Task StartAsync(WorkerListener listener, ChannelSocket front, byte[] buffer, WorkerSettings? settings = null)
    {
        settings ??= new WorkerSettings { Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        front.Send(MessageType.Configure, 0, buffer.AsSpan(0, settings.WriteTo(buffer)));
        await listener.StartAsync(CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(MessageType.Ready, (await ReceiveAsync(front, buffer)).Type);
    }

    internal static async Task<Socket> ConnectedSocketAsync()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.LocalEndPoint!).WaitAsync(Deadline);
        using Socket accepted = await server.AcceptAsync().WaitAsync(Deadline);
        return client;
    }
}
