using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Baton.Tests.Tls.Records;
using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>Export refuses when the session is not in a state a worker could continue; the connection is left usable.</summary>
public sealed class HandoffGuardTests
{
    private static readonly byte[] TwoRequests = "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();

    [Fact]
    public async Task ExportBeforeTheHandshakeRefusesEpochNotStarted()
    {
        using TlsServerContext context = HandoffTestServer.CreateContext(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        await using var _ = client;
        using var tls = new OpenSslStream(server, context);
        using HandoffCapture capture = HandoffCapture.Attach(tls);

        var refused = Assert.Throws<HandoffRefusedException>(() => capture.Export());
        Assert.Equal(HandoffRefusalReason.EpochNotStarted, refused.Reason);
    }

    [Fact]
    public async Task ContextWithoutCaptureCallbacksRefusesByteCountMismatch()
    {
        // The capture attaches, but no callback feeds it: libssl consumed records nobody counted.
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        using var tls = new OpenSslStream(server, context);
        using var sslClient = new SslStream(client, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using HandoffCapture capture = HandoffCapture.Attach(tls);
        await Handshake(tls, sslClient, SslProtocols.Tls12);
        await sslClient.WriteAsync(TwoRequests);
        await ReadHeadsAsync(tls, new StringBuilder(), bufferSize: 16 * 1024, heads: 2);

        var refused = Assert.Throws<HandoffRefusedException>(() => capture.Export());
        Assert.Equal(HandoffRefusalReason.ByteCountMismatch, refused.Reason);
    }

    [Fact]
    public async Task PlaintextLeftInLibsslRefusesAndTheFrontCanStillServe()
    {
        using TlsServerContext context = HandoffTestServer.CreateContext(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        using var tls = new OpenSslStream(server, context);
        using var sslClient = new SslStream(client, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        HandoffCapture capture = HandoffCapture.Attach(tls);
        await Handshake(tls, sslClient, SslProtocols.Tls13);
        await sslClient.WriteAsync(TwoRequests); // one record

        // A front reading with a small buffer stops at the end of the first head, mid-record.
        var received = new StringBuilder();
        await ReadHeadsAsync(tls, received, bufferSize: 16, heads: 1);
        Assert.StartsWith("GET /a ", received.ToString());
        var refused = Assert.Throws<HandoffRefusedException>(() => capture.Export());
        Assert.Equal(HandoffRefusalReason.PendingPlaintext, refused.Reason);
        capture.Dispose();

        // Nothing was taken from the connection: the front reads the rest and answers over libssl itself.
        await ReadHeadsAsync(tls, received, bufferSize: 16 * 1024, heads: 2);
        Assert.Equal(TwoRequests, Encoding.ASCII.GetBytes(received.ToString()));
        await tls.WriteAsync("served by the front"u8.ToArray());
        byte[] answer = new byte[64];
        int read = await sslClient.ReadAsync(answer).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal("served by the front", Encoding.ASCII.GetString(answer, 0, read));
    }

    [Fact]
    public async Task ExportWipesTheCapturedTrafficSecrets()
    {
        using TlsServerContext context = HandoffTestServer.CreateContext(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        using var tls = new OpenSslStream(server, context);
        using var sslClient = new SslStream(client, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using HandoffCapture capture = HandoffCapture.Attach(tls);
        await Handshake(tls, sslClient, SslProtocols.Tls13);
        await sslClient.WriteAsync(TwoRequests);
        await ReadHeadsAsync(tls, new StringBuilder(), bufferSize: 16 * 1024, heads: 2);

        using (HandoffExport export = capture.Export())
        {
            Assert.Equal(0x0304, export.State.ProtocolVersion);
            Assert.Empty(export.UnprocessedCiphertext);
        }
        var refused = Assert.Throws<HandoffRefusedException>(() => capture.Export());
        Assert.Equal(HandoffRefusalReason.MissingSecrets, refused.Reason);
    }

    private static async Task Handshake(OpenSslStream tls, SslStream sslClient, SslProtocols protocol)
    {
        Task serverSide = tls.AuthenticateAsServerAsync();
        await sslClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocol,
        }).WaitAsync(HandoffTestServer.Deadline);
        await serverSide.WaitAsync(HandoffTestServer.Deadline);
    }

    /// <summary>Reads until <paramref name="received"/> holds that many complete heads (a read may go beyond).</summary>
    private static async Task ReadHeadsAsync(OpenSslStream tls, StringBuilder received, int bufferSize, int heads)
    {
        byte[] buffer = new byte[bufferSize];
        while (received.ToString().Split("\r\n\r\n").Length <= heads)
        {
            int read = await tls.ReadAsync(buffer).AsTask().WaitAsync(HandoffTestServer.Deadline);
            Assert.NotEqual(0, read);
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }
}
