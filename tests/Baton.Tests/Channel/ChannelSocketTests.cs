using System.Net;
using System.Net.Sockets;
using System.IO.Pipes;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Baton.Tests.Channel.ChannelTestKit;

namespace Baton.Tests.Channel;

public class ChannelSocketTests
{
    private readonly byte[] _buffer = new byte[ChannelSocket.MaxBodyLength];

    [Fact]
    public void ConnectionCarriesBodyAndAPipeFdTheWorkerCanWriteThrough()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;
        using var pipe = new TestPipe();
        byte[] body = Encoding.ASCII.GetBytes("connection facts");
        int baseline = CountReferences(pipe.Target);

        Assert.True(front.TrySend(MessageType.Connection, 42, body, pipe.WriteEnd));
        var message = worker.Receive(_buffer);

        Assert.False(message.IsEndOfStream);
        Assert.Equal(MessageType.Connection, message.Type);
        Assert.Equal(42UL, message.ConnectionId);
        Assert.Equal(body, _buffer.AsSpan(0, message.BodyLength).ToArray());
        Assert.NotNull(message.Fd);
        Assert.Equal(pipe.Target, Target(message.Fd!.Fd));
        Assert.Equal(baseline + 1, CountReferences(pipe.Target));
        using (var writer = new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle(message.Fd.DetachFd(), true)))
        {
            writer.Write("hello"u8);
        }
        var read = new byte[5];
        pipe.Reader.ReadExactly(read);
        Assert.Equal("hello"u8.ToArray(), read);
        Assert.Equal(baseline, CountReferences(pipe.Target));
    }

    [Fact]
    public async Task ConnectionCarriesALiveTcpSocket()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using (var accepted = await listener.AcceptAsync())
        {
            Assert.True(front.TrySend(MessageType.Connection, 7, [1], accepted.SafeHandle));
        }
        var message = worker.Receive(_buffer);
        using var handedOver = new Socket(new SafeSocketHandle(message.Fd!.DetachFd(), ownsHandle: true));
        handedOver.Send("ping"u8);
        var read = new byte[4];
        Assert.Equal(4, await client.ReceiveAsync(read.AsMemory(), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("ping"u8.ToArray(), read);
    }

    [Fact]
    public void ConfigureCarriesALargeBody()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;
        byte[] body = new byte[ChannelSocket.MaxBodyLength];
        Random.Shared.NextBytes(body);

        front.Send(MessageType.Configure, 0, body);
        var message = worker.Receive(_buffer);

        Assert.Equal(MessageType.Configure, message.Type);
        Assert.Null(message.Fd);
        Assert.True(body.AsSpan().SequenceEqual(_buffer.AsSpan(0, message.BodyLength)));
    }

    [Theory]
    [InlineData((ushort)MessageType.Ready, 0UL)]
    [InlineData((ushort)MessageType.Ack, 1UL)]
    [InlineData((ushort)MessageType.Closed, ulong.MaxValue)]
    [InlineData((ushort)MessageType.Rejected, 99UL)]
    [InlineData((ushort)MessageType.Pong, 3UL)]
    public void WorkerMessagesRoundTrip(ushort typeValue, ulong connectionId)
    {
        var type = (MessageType)typeValue;
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;

        Assert.True(worker.TrySend(type, connectionId, default, null));
        var message = front.Receive(_buffer);

        Assert.Equal(type, message.Type);
        Assert.Equal(connectionId, message.ConnectionId);
        Assert.Equal(0, message.BodyLength);
        Assert.Null(message.Fd);
    }

    [Fact]
    public void APingRoundTripsWithItsNumber()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;

        Assert.True(front.TrySend(MessageType.Ping, 12, default, null));
        var message = worker.Receive(_buffer);

        Assert.Equal((MessageType.Ping, 12UL, 0), (message.Type, message.ConnectionId, message.BodyLength));
        Assert.Null(message.Fd);
    }

    [Fact]
    public void SenderRefusesMessagesThatBreakTheRules()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;
        using var pipe = new TestPipe();

        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Connection, 1, [1], null));
        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Configure, 0, [1], pipe.WriteEnd));
        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Ack, 1, default, null));
        Assert.Throws<ArgumentException>(() => worker.TrySend(MessageType.Connection, 1, [1], pipe.WriteEnd));
        Assert.Throws<ArgumentException>(() => worker.TrySend(MessageType.Ack, 0, default, null));
        Assert.Throws<ArgumentException>(() => worker.TrySend(MessageType.Closed, 1, [1], null));
        Assert.Throws<ArgumentException>(() => worker.TrySend(MessageType.Ping, 1, default, null));
        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Pong, 1, default, null));
        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Ping, 0, default, null));
        Assert.Throws<ArgumentException>(() => front.TrySend(MessageType.Configure, 0, new byte[ChannelSocket.MaxBodyLength + 1], null));
    }

    [Fact]
    public void PeerCloseIsEndOfStreamAndSendsFailAsClosed()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        worker.Dispose();
        worker.Dispose();

        Assert.True(front.Receive(_buffer).IsEndOfStream);
        var error = Assert.Throws<ChannelClosedException>(() => front.TrySend(MessageType.Configure, 0, [1], null));
        Assert.Equal(Interop.Libc.EPIPE, error.Errno);
    }

    [Fact]
    public async Task DisposeWakesABlockedReceive()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = worker;
        var started = new TaskCompletionSource();
        var receive = Task.Factory.StartNew(() =>
        {
            started.SetResult();
            return front.Receive(new byte[64]);
        }, TaskCreationOptions.LongRunning);
        await started.Task;

        front.Dispose();

        var message = await receive.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(message.IsEndOfStream);
    }

    [Fact]
    public void TrySendReturnsFalseWhenThePeerQueueIsFullAndTrueOnceItDrains()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;
        byte[] body = new byte[1000];

        int sent = 0;
        while (front.TrySend(MessageType.Configure, 0, body, null))
        {
            Assert.True(++sent < 100_000, "the queue never filled");
        }

        Assert.True(sent > 0);
        Assert.Equal(MessageType.Configure, worker.Receive(_buffer).Type);
        Assert.True(front.TrySend(MessageType.Configure, 0, body, null));
    }

    [Fact]
    public void PeerCredentialsNameThisProcess()
    {
        var (front, worker) = CreateConnectedPair();
        using var _ = front;
        using var __ = worker;

        Assert.Equal(Environment.ProcessId, front.GetPeerCredentials().Pid);
        Assert.Equal(Environment.ProcessId, worker.GetPeerCredentials().Pid);
        Assert.Equal(Environment.ProcessId, Interop.Libc.GetPid());
    }

    [Fact]
    public void InheritedFdMustBeASeqPacketSocketAndBecomesCloseOnExec()
    {
        using var pipe = new TestPipe();
        int baseline = CountReferences(pipe.Target);
        int fd = Interop.Libc.Fcntl(pipe.WriteFd, 0 /* F_DUPFD, without CLOEXEC */, 0);
        Assert.Throws<System.ComponentModel.Win32Exception>(() => ChannelSocket.FromInheritedFd(fd));
        Assert.Equal(baseline, CountReferences(pipe.Target));

        var (front, workerEnd) = ChannelSocket.CreatePair();
        using var _ = front;
        int inherited = Interop.Libc.Fcntl(workerEnd.Fd, 0, 0);
        workerEnd.Dispose();
        Assert.Equal(0, Interop.Libc.Fcntl(inherited, Interop.Libc.F_GETFD, 0) & Interop.Libc.FD_CLOEXEC);
        using var worker = ChannelSocket.FromInheritedFd(inherited);
        Assert.Equal(Interop.Libc.FD_CLOEXEC, Interop.Libc.Fcntl(inherited, Interop.Libc.F_GETFD, 0) & Interop.Libc.FD_CLOEXEC);
    }
}
