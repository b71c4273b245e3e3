using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Inspection;

/// <summary>ClientHellos captured from real clients over a real socket, parsed as they arrive and then re-cut.</summary>
public class ClientHelloCaptureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task OpenSslClient()
    {
        ClientHelloInfo hello = await CaptureFromProcessAsync(
            "openssl", port => ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "A.Example", "-alpn", "h2,http/1.1"]);
        Assert.Equal("a.example", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
    }

    [Fact]
    public async Task OpenSslClientTls12Only()
    {
        ClientHelloInfo hello = await CaptureFromProcessAsync(
            "openssl", port => ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "b.example", "-tls1_2"]);
        Assert.Equal("b.example", hello.ServerName);
        Assert.Empty(hello.ApplicationProtocols);
    }

    [Fact]
    public async Task OpenSslClientWithoutSni()
    {
        ClientHelloInfo hello = await CaptureFromProcessAsync(
            "openssl", port => ["s_client", "-connect", $"127.0.0.1:{port}", "-noservername"]);
        Assert.Null(hello.ServerName);
    }

    [Fact]
    public async Task Curl()
    {
        ClientHelloInfo hello = await CaptureFromProcessAsync(
            "curl", port => ["-k", "-sS", "--max-time", "20", "--resolve", $"a.example:{port}:127.0.0.1", $"https://a.example:{port}/"]);
        Assert.Equal("a.example", hello.ServerName);
        Assert.Contains("http/1.1", hello.ApplicationProtocols);
    }

    [Fact]
    public async Task Python()
    {
        const string Script =
            "import socket, ssl, sys\n" +
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n" +
            "ctx.set_alpn_protocols(['h2', 'http/1.1'])\n" +
            "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n" +
            "try:\n    ctx.wrap_socket(s, server_hostname='Py.Example')\nexcept Exception:\n    pass\n";
        ClientHelloInfo hello = await CaptureFromProcessAsync("python3", port => ["-c", Script, port.ToString()]);
        Assert.Equal("py.example", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
    }

    [Fact]
    public async Task DotNetSslStream()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var cts = new CancellationTokenSource(Deadline);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, cts.Token);
        using var ssl = new SslStream(client.GetStream());
        Task handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "dotnet.example",
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = delegate { return true; },
        }, cts.Token);

        ClientHelloInfo hello;
        using (Socket server = await listener.AcceptSocketAsync(cts.Token))
        {
            hello = await ReadAndCheckAsync(server, cts.Token);
        }
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        Assert.Equal("dotnet.example", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
    }

    private static async Task<ClientHelloInfo> CaptureFromProcessAsync(string fileName, Func<int, string[]> arguments)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var cts = new CancellationTokenSource(Deadline);
        await using ChildProcess client = ChildProcess.Start(fileName, arguments(((IPEndPoint)listener.LocalEndpoint).Port));
        using Socket server = await listener.AcceptSocketAsync(cts.Token);
        return await ReadAndCheckAsync(server, cts.Token);
    }

    /// <summary>Feeds the parser each read as it arrives, then re-checks the capture in every other cut.</summary>
    private static async Task<ClientHelloInfo> ReadAndCheckAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int received = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, cancellationToken);
            Assert.True(n > 0, "client closed before its ClientHello was complete");
            received += n;
            ParseStatus status = ClientHelloParser.Parse(buffer.AsSpan(0, received), out ClientHelloInfo? live, out ClientHelloError error);
            Assert.NotEqual(ParseStatus.Invalid, status);
            Assert.Equal(ClientHelloError.None, error);
            if (status == ParseStatus.Complete)
            {
                return CheckCapture(buffer.AsSpan(0, live!.Length).ToArray(), live);
            }
        }
    }

    private static ClientHelloInfo CheckCapture(byte[] capture, ClientHelloInfo live)
    {
        for (int length = 0; length < capture.Length; length++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, ClientHelloParser.Parse(capture.AsSpan(0, length), out _, out _));
        }
        byte[] message = ClientHelloBuilder.MessageOf(capture);
        foreach (int fragmentSize in new[] { 1, 2, 7, 64, 512 })
        {
            byte[] records = ClientHelloBuilder.ToRecords(message, fragmentSize, recordVersion: (ushort)((capture[1] << 8) | capture[2]));
            ParseStatus status = ClientHelloParser.Parse(records, out ClientHelloInfo? hello, out ClientHelloError error, maxBytes: 64 * 1024);
            Assert.Equal((ParseStatus.Complete, ClientHelloError.None), (status, error));
            Assert.Equal(live.ServerName, hello!.ServerName);
            Assert.Equal(live.ApplicationProtocols, hello.ApplicationProtocols);
            Assert.Equal(records.Length, hello.Length);
        }
        return live;
    }
}
