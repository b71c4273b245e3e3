using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Tls;

/// <summary>OpenSslStream against .NET's SslStream/HttpClient and raw sockets.</summary>
public sealed class OpenSslStreamTests
{
    private const int OneMiB = 1024 * 1024;

    [Fact]
    public async Task HttpClientGetsTheResponse()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost, "http/1.1");
        await using var server = new TlsTestServer(context, TlsTestServer.AnswerHttp);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        // Allowing HTTP/2 makes HttpClient offer ALPN "h2,http/1.1"; the server only lists http/1.1.
        using var http = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };

        string body = await http.GetStringAsync($"https://localhost:{server.Port}/");

        Assert.Equal("hello from baton over TLSv1.3\n", body);
        HandshakeInfo handshake = await server.NextHandshakeAsync();
        Assert.Equal(0x0304, handshake.VersionNumber);
        Assert.Equal("localhost", handshake.ServerName);
        Assert.Equal("http/1.1", handshake.Alpn);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task OneMebibyteEchoesIntactAndCloseNotifyEndsTheStream(SslProtocols protocol)
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);
        await using SslStream client = await ConnectAsync(server.Port, protocol);
        byte[] payload = RandomNumberGenerator.GetBytes(OneMiB);

        Task send = Task.Run(async () => { await client.WriteAsync(payload); await client.ShutdownAsync(); });
        byte[] echoed = await ReadToEndAsync(client);
        await send;

        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
        Assert.Equal(protocol == SslProtocols.Tls13 ? "TLSv1.3" : "TLSv1.2", (await server.NextHandshakeAsync()).Version);
        Assert.False(server.HasFailures);
    }

    [Fact]
    public async Task ConcurrentReaderAndWriterOnTheServerSide()
    {
        byte[] fromServer = RandomNumberGenerator.GetBytes(OneMiB);
        byte[] fromClient = RandomNumberGenerator.GetBytes(OneMiB);
        var serverReceived = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, async tls =>
        {
            Task write = Task.Run(async () => { await tls.WriteAsync(fromServer); await tls.ShutdownAsync(); });
            serverReceived.SetResult(await ReadToEndAsync(tls));
            await write;
        });
        await using SslStream client = await ConnectAsync(server.Port, SslProtocols.Tls13);

        Task send = Task.Run(async () => { await client.WriteAsync(fromClient); await client.ShutdownAsync(); });
        byte[] clientReceived = await ReadToEndAsync(client);
        await send;

        Assert.Equal(SHA256.HashData(fromServer), SHA256.HashData(clientReceived));
        Assert.Equal(SHA256.HashData(fromClient), SHA256.HashData(await serverReceived.Task.WaitAsync(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task GarbageFailsTheHandshakeWithAReasonAndTheServerKeepsServing()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync("127.0.0.1", server.Port);
            await raw.GetStream().WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            Exception failure = await server.NextFailureAsync();
            Assert.IsType<AuthenticationException>(failure);
            Assert.Contains("http request", failure.Message);
        }

        await using SslStream client = await ConnectAsync(server.Port, SslProtocols.Tls13);
        await client.WriteAsync("still alive"u8.ToArray());
        byte[] reply = new byte[11];
        await client.ReadExactlyAsync(reply);
        Assert.Equal("still alive", Encoding.ASCII.GetString(reply));
    }

    [Fact]
    public async Task SilentClientHitsTheHandshakeTimeout()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo, handshakeTimeout: TimeSpan.FromMilliseconds(300));
        using var raw = new TcpClient();
        await raw.ConnectAsync("127.0.0.1", server.Port);

        Assert.IsAssignableFrom<OperationCanceledException>(await server.NextFailureAsync());
    }

    [Fact]
    public async Task PeerClosingMidHandshakeFailsWithAuthenticationException()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync("127.0.0.1", server.Port);
            // The first bytes of a ClientHello record, then EOF.
            await raw.GetStream().WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 });
        }

        Exception failure = await server.NextFailureAsync();
        Assert.IsType<AuthenticationException>(failure);
        Assert.Contains("peer closed", failure.Message);
    }

    [Fact]
    public async Task UnprocessedRecordsStayInTheReadBioForHandoff()
    {
        var bothSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new TaskCompletionSource<(int Read, int Pending, int Unprocessed, byte[] Taken, int After)>(
            TaskCreationOptions.RunContinuationsAsynchronously);
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, async tls =>
        {
            await bothSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
            byte[] buffer = new byte[16 * 1024];
            int read = await tls.ReadAsync(buffer);
            observed.SetResult((read, tls.PendingPlaintextLength, tls.UnprocessedInputLength, tls.TakeUnprocessedInput(), tls.UnprocessedInputLength));
        });

        // Two 100-byte application records in one TCP segment (corked), so the server's first read finds both, however
        // late the segment arrives on a loaded machine.
        string script = $$"""
            import socket, ssl, sys
            ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            raw = socket.create_connection(('127.0.0.1', {{server.Port}}))
            with ctx.wrap_socket(raw, server_hostname='localhost') as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                s.sendall(b'A' * 100); s.sendall(b'B' * 100)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
                print('sent', flush=True); sys.stdin.read()
            """;
        await using ChildProcess client = ChildProcess.Start("python3", ["-c", script]);
        await client.WaitForOutputAsync("sent");
        bothSent.SetResult();
        var result = await observed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        client.CloseInput();
        await client.WaitForExitAsync();

        Assert.Equal(100, result.Read);
        Assert.Equal(0, result.Pending);
        // TLS 1.3 AES-128-GCM record: 5-byte header + 100 bytes + 1 content type byte + 16-byte tag.
        Assert.Equal(122, result.Unprocessed);
        Assert.Equal(122, result.Taken.Length);
        Assert.Equal(new byte[] { 0x17, 0x03, 0x03, 0x00, 117 }, result.Taken[..5]);
        Assert.Equal(0, result.After);
    }

    private static async Task<SslStream> ConnectAsync(int port, SslProtocols protocol)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocol,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return ssl;
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var received = new MemoryStream();
        byte[] buffer = new byte[32 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) received.Write(buffer, 0, read);
        return received.ToArray();
    }
}
