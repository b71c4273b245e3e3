using Microsoft.Win32.SafeHandles;
using static Baton.Tests.Channel.ChannelTestKit;

namespace Baton.Tests.Channel;

/// <summary>A misbehaving peer: each case must fail with its own reason and leave no received fd open.</summary>
public class ChannelMalformedTests : IDisposable
{
    private const ushort ConnectionType = (ushort)MessageType.Connection;
    private const ushort AckType = (ushort)MessageType.Ack;
    private const ushort PingType = (ushort)MessageType.Ping;
    private const ushort PongType = (ushort)MessageType.Pong;
    private const ushort HandbackType = (ushort)MessageType.Handback;
    private const ushort HandbackAckType = (ushort)MessageType.HandbackAck;
    private const ushort DrainType = (ushort)MessageType.Drain;

    private readonly ChannelSocket _front;
    private readonly ChannelSocket _worker;
    private readonly byte[] _buffer = new byte[ChannelSocket.MaxBodyLength];

    public ChannelMalformedTests() => (_front, _worker) = CreateConnectedPair();

    public void Dispose()
    {
        _front.Dispose();
        _worker.Dispose();
    }

    [Fact]
    public void ShortMessage() => AssertWorkerRefuses(ChannelError.ShortMessage, new byte[10], fdCount: 1);

    [Fact]
    public void BadMagic() => AssertWorkerRefuses(ChannelError.BadMagic, [.. Header(ConnectionType, 1, 1, magic: 0x4E544143), 1], fdCount: 1);

    [Fact]
    public void BadVersion() => AssertWorkerRefuses(ChannelError.BadVersion, [.. Header(ConnectionType, 1, 1, version: ChannelHeader.Version + 1), 1], fdCount: 1);

    /// <summary>An older version lacks this one's messages: a worker built against it must be refused at its first message, not half-understood.</summary>
    [Fact]
    public void ThePreviousVersionIsRefused() =>
        AssertRefused(_worker, _front, ChannelError.BadVersion, Header((ushort)MessageType.Ready, 0, 0, version: ChannelHeader.Version - 1), fdCount: 0);

    [Fact]
    public void ReservedNotZero() => AssertWorkerRefuses(ChannelError.ReservedNotZero, [.. Header(ConnectionType, 1, 1, reserved: 1), 1], fdCount: 1);

    [Fact]
    public void UnknownType() => AssertWorkerRefuses(ChannelError.UnknownType, [.. Header(99, 1, 1), 1], fdCount: 1);

    [Fact]
    public void FrontRefusesAPing() => AssertRefused(_worker, _front, ChannelError.WrongDirection, Header(PingType, 1, 0), fdCount: 0);

    [Fact]
    public void WorkerRefusesAPong() => AssertWorkerRefuses(ChannelError.WrongDirection, Header(PongType, 1, 0), fdCount: 0);

    [Fact]
    public void PingWithNumberZero() => AssertWorkerRefuses(ChannelError.BadConnectionId, Header(PingType, 0, 0), fdCount: 0);

    [Fact]
    public void PongWithNumberZero() => AssertRefused(_worker, _front, ChannelError.BadConnectionId, Header(PongType, 0, 0), fdCount: 0);

    [Fact]
    public void PingWithBody() => AssertWorkerRefuses(ChannelError.UnexpectedBody, [.. Header(PingType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void PongWithBody() => AssertRefused(_worker, _front, ChannelError.UnexpectedBody, [.. Header(PongType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void PingWithFd() => AssertWorkerRefuses(ChannelError.UnexpectedFd, Header(PingType, 1, 0), fdCount: 1);

    [Fact]
    public void PongWithFd() => AssertRefused(_worker, _front, ChannelError.UnexpectedFd, Header(PongType, 1, 0), fdCount: 1);

    [Fact]
    public void FrontRefusesAConnectionMessage() =>
        AssertRefused(_worker, _front, ChannelError.WrongDirection, [.. Header(ConnectionType, 1, 1), 1], fdCount: 1);

    [Fact]
    public void WorkerRefusesAnAck() => AssertWorkerRefuses(ChannelError.WrongDirection, Header(AckType, 1, 0), fdCount: 0);

    [Fact]
    public void ConnectionWithoutFd() => AssertWorkerRefuses(ChannelError.MissingFd, [.. Header(ConnectionType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void ConnectionWithTwoFds() => AssertWorkerRefuses(ChannelError.TooManyFds, [.. Header(ConnectionType, 1, 1), 1], fdCount: 2);

    [Fact]
    public void MoreFdsThanTheControlBufferHolds() =>
        AssertWorkerRefuses(ChannelError.ControlTruncated, [.. Header(ConnectionType, 1, 1), 1], fdCount: 5);

    [Fact]
    public void AckWithFd() => AssertRefused(_worker, _front, ChannelError.UnexpectedFd, Header(AckType, 1, 0), fdCount: 1);

    [Fact]
    public void ConfigureWithFd() =>
        AssertWorkerRefuses(ChannelError.UnexpectedFd, [.. Header((ushort)MessageType.Configure, 0, 1), 1], fdCount: 1);

    [Fact]
    public void BodyShorterThanHeaderSays() => AssertWorkerRefuses(ChannelError.BodyLengthMismatch, [.. Header(ConnectionType, 1, 10), 1, 2, 3, 4, 5], fdCount: 1);

    [Fact]
    public void BodyLongerThanHeaderSays() => AssertWorkerRefuses(ChannelError.BodyLengthMismatch, [.. Header(ConnectionType, 1, 1), 1, 2], fdCount: 1);

    [Fact]
    public void OversizedBody()
    {
        const int length = ChannelSocket.MaxBodyLength + 1;
        AssertWorkerRefuses(ChannelError.BodyTooLarge, [.. Header(ConnectionType, 1, length), .. new byte[length]], fdCount: 1);
    }

    [Fact]
    public void MessageLargerThanTheReceiveBuffer()
    {
        SendRaw(_front, Message(MessageType.Configure, 0, new byte[100]));
        var error = Assert.Throws<ChannelProtocolException>(() => _worker.Receive(new byte[50]));
        Assert.Equal(ChannelError.MessageTruncated, error.Error);
    }

    [Fact]
    public void EmptyConnectionBody() => AssertWorkerRefuses(ChannelError.MissingBody, Header(ConnectionType, 1, 0), fdCount: 1);

    [Fact]
    public void AckWithBody() => AssertRefused(_worker, _front, ChannelError.UnexpectedBody, [.. Header(AckType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void ReadyWithConnectionId() =>
        AssertRefused(_worker, _front, ChannelError.BadConnectionId, Header((ushort)MessageType.Ready, 5, 0), fdCount: 0);

    [Fact]
    public void ConnectionWithIdZero() => AssertWorkerRefuses(ChannelError.BadConnectionId, [.. Header(ConnectionType, 0, 1), 1], fdCount: 1);

    [Fact]
    public void CredentialsControlMessage()
    {
        // With SO_PASSCRED the kernel attaches SCM_CREDENTIALS to every message: not part of the protocol.
        Interop.Libc.SetSocketOptionInt32(_front.Handle, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_PASSCRED, 1);
        AssertRefused(_worker, _front, ChannelError.UnexpectedControlMessage, Header((ushort)MessageType.Ready, 0, 0), fdCount: 0);
    }

    [Fact]
    public void ChannelStillWorksAfterARefusedMessage()
    {
        AssertWorkerRefuses(ChannelError.BadMagic, Header(ConnectionType, 1, 0, magic: 0), fdCount: 1);

        Assert.True(_front.TrySend(MessageType.Configure, 0, [7], null));
        Assert.Equal(MessageType.Configure, _worker.Receive(_buffer).Type);
    }

    [Fact]
    public void GarbageConnectionBodyIsRefusedByTheDecoderAndTheCallerClosesTheFd()
    {
        using var pipe = new TestPipe();
        int baseline = CountReferences(pipe.Target);
        Assert.True(_front.TrySend(MessageType.Connection, 3, [2, 9, 0, 0, 0], pipe.WriteEnd));

        var message = _worker.Receive(_buffer);
        using (message.Fd)
        {
            Assert.Equal(baseline + 1, CountReferences(pipe.Target));
            var error = Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadFrom(_buffer.AsSpan(0, message.BodyLength), out _));
            Assert.Equal(ChannelError.FieldLengthOverrun, error.Error);
        }
        Assert.Equal(baseline, CountReferences(pipe.Target));
    }

    // Handback (worker → front, one fd, a body) and HandbackAck (front → worker, nothing but the id).
    [Fact]
    public void WorkerRefusesAHandback() => AssertWorkerRefuses(ChannelError.WrongDirection, [.. Header(HandbackType, 1, 1), 1], fdCount: 1);

    [Fact]
    public void FrontRefusesAHandbackAck() => AssertRefused(_worker, _front, ChannelError.WrongDirection, Header(HandbackAckType, 1, 0), fdCount: 0);

    [Fact]
    public void HandbackWithoutFd() => AssertRefused(_worker, _front, ChannelError.MissingFd, [.. Header(HandbackType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void HandbackWithTwoFds() => AssertRefused(_worker, _front, ChannelError.TooManyFds, [.. Header(HandbackType, 1, 1), 1], fdCount: 2);

    [Fact]
    public void HandbackWithoutBody() => AssertRefused(_worker, _front, ChannelError.MissingBody, Header(HandbackType, 1, 0), fdCount: 1);

    [Fact]
    public void HandbackWithIdZero() => AssertRefused(_worker, _front, ChannelError.BadConnectionId, [.. Header(HandbackType, 0, 1), 1], fdCount: 1);

    [Fact]
    public void HandbackAckWithBody() => AssertWorkerRefuses(ChannelError.UnexpectedBody, [.. Header(HandbackAckType, 1, 1), 1], fdCount: 0);

    [Fact]
    public void HandbackAckWithFd() => AssertWorkerRefuses(ChannelError.UnexpectedFd, Header(HandbackAckType, 1, 0), fdCount: 1);

    [Fact]
    public void HandbackAckWithIdZero() => AssertWorkerRefuses(ChannelError.BadConnectionId, Header(HandbackAckType, 0, 0), fdCount: 0);

    [Fact]
    public void DrainWithBody() => AssertWorkerRefuses(ChannelError.UnexpectedBody, [.. Header(DrainType, 0, 1), 1], fdCount: 0);

    [Fact]
    public void DrainWithFd() => AssertWorkerRefuses(ChannelError.UnexpectedFd, Header(DrainType, 0, 0), fdCount: 1);

    [Fact]
    public void DrainWithAConnectionId() => AssertWorkerRefuses(ChannelError.BadConnectionId, Header(DrainType, 7, 0), fdCount: 0);

    [Fact]
    public void DrainFromTheWorker() => AssertRefused(_worker, _front, ChannelError.WrongDirection, Header(DrainType, 0, 0), fdCount: 0);

    [Fact]
    public void TheTypeAfterRoutesIsUnknownToThisVersion() =>
        AssertRefused(_worker, _front, ChannelError.UnknownType, Header((ushort)MessageType.Routes + 1, 1, 0), fdCount: 0);

    [Fact]
    public void AWellFormedHandbackArrivesWithItsFd()
    {
        using var pipe = new TestPipe();
        Assert.True(_worker.TrySend(MessageType.Handback, 9, [2, 1, 0, 0, 0, (byte)'p'], pipe.WriteEnd));
        ReceivedMessage message = _front.Receive(_buffer);
        using SafeFdHandle? fd = message.Fd;
        Assert.Equal((MessageType.Handback, 9UL, 6), (message.Type, message.ConnectionId, message.BodyLength));
        Assert.Equal(pipe.Target, Target((int)fd!.DangerousGetHandle()));
        Assert.True(_front.TrySend(MessageType.HandbackAck, 9, [], null));
        Assert.Equal((MessageType.HandbackAck, 9UL), (_worker.Receive(_buffer) is var ack ? (ack.Type, ack.ConnectionId) : default));
    }

    private void AssertWorkerRefuses(ChannelError expected, byte[] bytes, int fdCount) =>
        AssertRefused(_front, _worker, expected, bytes, fdCount);

    private void AssertRefused(ChannelSocket sender, ChannelSocket receiver, ChannelError expected, byte[] bytes, int fdCount) =>
        ChannelTestKit.AssertRefused(sender, receiver, expected, bytes, fdCount, _buffer);
}
