using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Baton.Tests.Channel;
using Baton.Tests.IO;
using Baton.Tests.Tls;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Tests.Workers;

/// <summary>
/// A passthrough worker sent new certificates (a reload): connections it receives afterwards are served with them,
/// one received before keeps the certificate it was received with even when it opens after the update.
/// </summary>
public sealed class WorkerCertificateReloadTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConnectionsReceivedAfterTheUpdateGetTheNewCertificateAndEarlierOnesKeepTheOld()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        SelfSignedCertificate renewed = SelfSignedCertificate.Create();
        await WorkerListenerTests.StartAsync(listener, front, buffer, Settings(TestCertificates.Localhost));

        using LoopbackPair before = await LoopbackPair.ConnectAsync();
        WorkerConnection received = await HandAsync(listener, front, 1, before, buffer);
        SendCertificates(front, renewed, buffer);
        using LoopbackPair after = await LoopbackPair.ConnectAsync();
        WorkerConnection receivedAfter = await HandAsync(listener, front, 2, after, buffer);

        // Opened after the update, in the other order: what each is served was decided when it was received.
        Assert.Equal(Serial(renewed), await HandshakeAsync(receivedAfter, after));
        Assert.Equal(Serial(TestCertificates.Localhost), await HandshakeAsync(received, before));
        await received.DisposeAsync();
        await receivedAfter.DisposeAsync();
    }

    [Fact]
    public async Task AHandoffWorkerTakesCertificatesForAProtocolErrorAndTakesNoMoreConnections()
    {
        (ChannelSocket front, ChannelSocket workerEnd) = ChannelTestKit.CreateConnectedPair();
        using var _ = front;
        await using var listener = new WorkerListener(workerEnd, NullLogger.Instance);
        byte[] buffer = new byte[ChannelHeader.MaxBodyLength];
        await WorkerListenerTests.StartAsync(listener, front, buffer);

        SendCertificates(front, TestCertificates.Localhost, buffer);

        Assert.Null(await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline));
        Assert.Contains("Certificates sent to a handoff worker", listener.ChannelFailure);
    }

    private static void SendCertificates(ChannelSocket front, SelfSignedCertificate certificate, byte[] buffer)
    {
        var update = new CertificateUpdate { Certificates = [Material(certificate)] };
        front.Send(MessageType.Certificates, 0, buffer.AsSpan(0, update.WriteTo(buffer)));
    }

    private static CertificateMaterial Material(SelfSignedCertificate certificate) => new()
    {
        ServerNames = ["localhost"],
        CertificateChainPem = certificate.CertificatePem,
        PrivateKeyPem = [.. certificate.PrivateKeyPem],
    };

    private static string Serial(SelfSignedCertificate certificate) =>
        X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(certificate.CertificatePem)).SerialNumber;

    private static async Task<WorkerConnection> HandAsync(WorkerListener listener, ChannelSocket front, ulong id, LoopbackPair pair, byte[] buffer)
    {
        var facts = new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = "p" };
        front.Send(MessageType.Connection, id, buffer.AsSpan(0, facts.WriteTo(buffer, out _)), pair.Server.SafeHandle);
        ReceivedMessage ack = await WorkerListenerTests.ReceiveAsync(front, buffer);
        Assert.Equal((MessageType.Ack, id), (ack.Type, ack.ConnectionId));
        return (await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Deadline))!;
    }

    /// <summary>The worker's handshake against a real .NET client; returns the serial the client was served.</summary>
    private static async Task<string> HandshakeAsync(WorkerConnection connection, LoopbackPair pair)
    {
        await using var client = new SslStream(new System.Net.Sockets.NetworkStream(pair.Client, ownsSocket: false));
        Task<Baton.Tls.TlsStream> server = connection.OpenAsync(CancellationToken.None);
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }).WaitAsync(Deadline);
        await server.WaitAsync(Deadline);
        return new X509Certificate2(client.RemoteCertificate!).SerialNumber;
    }

    private static WorkerSettings Settings(SelfSignedCertificate certificate) => new()
    {
        Pool = "p",
        Mode = HandoffMode.Passthrough,
        Certificates = [Material(certificate)],
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };
}
