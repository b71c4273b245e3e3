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
        var settings = new WorkerSettings { Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        front.Send(MessageType.Configure, 0, buffer.AsSpan(0, settings.WriteTo(buffer)));
        await listener.StartAsync(CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(MessageType.Ready, (await ReceiveAsync(front, buffer)).Type);

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
    public async Task APingIsAnsweredWithAPongOfTheSameNumberBetweenConnections()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        var settings = new WorkerSettings { Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        front.Send(MessageType.Configure, 0, buffer.AsSpan(0, settings.WriteTo(buffer)));
        await listener.StartAsync(CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(MessageType.Ready, (await ReceiveAsync(front, buffer)).Type);

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

    private static void SendConnection(ChannelSocket front, ulong id, Socket socket, byte[] buffer)
    {
        // Handoff facts need some TLS state; an unusable one (zeros) fails only when the connection is opened.
        var facts = new ConnectionFacts { Mode = HandoffMode.Handoff, Pool = "p", TlsStateLength = 16 };
        front.Send(MessageType.Connection, id, buffer.AsSpan(0, facts.WriteTo(buffer, out _)), socket.SafeHandle);
    }

    private static Task<ReceivedMessage> ReceiveAsync(ChannelSocket front, byte[] buffer) =>
        Task.Run(() => front.Receive(buffer)).WaitAsync(Deadline);

    /// <summary>One end of a loopback TCP connection (the other end is closed: only the descriptor travels).</summary>
    private static async Task<Socket> ConnectedSocketAsync()
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
