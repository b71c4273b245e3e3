using System.Security.Cryptography;
using Baton.Tests.Channel;
using Baton.Tests.Infrastructure;
using Baton.Tests.Tls;

namespace Baton.Tests.TlsFeatures;

/// <summary>A worker's end of a real channel receiving the front's ticket ring: a passthrough worker takes it, a handoff worker (which holds none) breaks its channel.</summary>
public sealed class WorkerTicketKeysTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task APassthroughWorkerReplacesItsRingAndKeepsServing()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        var logger = new CollectingLogger();
        await using var listener = new WorkerListener(workerEnd, logger);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        var settings = new WorkerSettings
        {
            Pool = "p", Mode = HandoffMode.Passthrough, HandshakeTimeout = TimeSpan.FromSeconds(5),
            Certificates = [new CertificateMaterial { ServerNames = ["localhost"], CertificateChainPem = TestCertificates.Localhost.CertificatePem, PrivateKeyPem = TestCertificates.Localhost.PrivateKeyPem.ToArray() }],
            TicketKeys = RandomNumberGenerator.GetBytes(80),
        };
        await StartAsync(listener, front, settings, buffer);

        int length = new TicketKeysUpdate(RandomNumberGenerator.GetBytes(160)).WriteTo(buffer);
        front.Send(MessageType.TicketKeys, 0, buffer.AsSpan(0, length));
        await Wait.UntilAsync(() => logger.Lines.Any(l => l.Message.Contains("ticket keys replaced by the front's ring (2 keys)")), "the worker took the ring", Deadline);

        front.Send(MessageType.Ping, 1, []);
        Assert.Equal(MessageType.Pong, (await Task.Run(() => front.Receive(buffer)).WaitAsync(Deadline)).Type);
        Assert.Null(listener.ChannelFailure);
    }

    [Fact]
    public async Task AHandoffWorkerRefusesTicketKeys()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, new CollectingLogger());
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await StartAsync(listener, front, new WorkerSettings { Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(5) }, buffer);

        int length = new TicketKeysUpdate(new byte[80]).WriteTo(buffer);
        front.Send(MessageType.TicketKeys, 0, buffer.AsSpan(0, length));
        Assert.Null(await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline));
        Assert.Contains("ticket keys for a worker that holds none", listener.ChannelFailure);
    }

    private static async Task StartAsync(WorkerListener listener, ChannelSocket front, WorkerSettings settings, byte[] buffer)
    {
        front.Send(MessageType.Configure, 0, buffer.AsSpan(0, settings.WriteTo(buffer)));
        await listener.StartAsync(CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(MessageType.Ready, (await Task.Run(() => front.Receive(buffer)).WaitAsync(Deadline)).Type);
    }
}
