using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>Proxy mode end to end: real clients through a real front and relay workers to real backends.</summary>
public sealed class ProxyModeTests : IClassFixture<ProxyFronts>
{
    private readonly ProxyFronts _fixture;

    public ProxyModeTests(ProxyFronts fixture) => _fixture = fixture;

    private BatonFront Front => _fixture.Front;

    [Fact]
    public async Task CurlGetsThePythonServersFilePastADeadBackend()
    {
        for (int i = 0; i < 3; i++)
            Assert.Equal(ProxyFronts.PageText, await Clients.CurlAsync(Front.Port, "localhost", "/page.txt"));
        // No ALPN negotiated by default (the backend may speak anything): curl, which offers h2, falls back to HTTP/1.x.
        ProcessResult verbose = await ChildProcess.RunAsync("curl",
            ["-sSv", "-k", "--max-time", "30", "--resolve", $"localhost:{Front.Port}:127.0.0.1", $"https://localhost:{Front.Port}/page.txt"]);
        Assert.Contains("server did not agree", verbose.StandardError);
        Assert.Equal(ProxyFronts.PageText, verbose.StandardOutput);
        await Front.WaitForOutputAsync($"backend 127.0.0.1:{_fixture.DeadPort} is down (Connection refused)");
    }

    [Fact]
    public async Task APathRouteSendsTheRequestTheFrontReadToTheProxyPoolItPicks()
    {
        // The echo backend returns the request head the front read and handed over with the session.
        const string request = "GET /echo/x HTTP/1.1\r\nHost: paths.test\r\n\r\n";
        (Socket _, SslStream tls) = await OpenAsync("paths.test");
        await using (tls)
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes(request));
            Assert.Equal(request, await ReadUntilAsync(tls, "\r\n\r\n"));
        }
        // Another path falls through to the default pool, the python server.
        Assert.Equal(ProxyFronts.PageText, await Clients.CurlAsync(Front.Port, "paths.test", "/page.txt"));
    }

    [Fact]
    public async Task OpenSslSClientGetsThePythonServersListing()
    {
        ProcessResult result = await Clients.OpenSslRequestAsync(Front.Port, "localhost");
        Assert.Contains("HTTP/1.0 200", result.Output);
        Assert.Contains("page.txt", result.Output);
    }

    [Fact]
    public async Task CurlAndOpenSslSClientReachAPlainNginxOnAUnixSocket()
    {
        // Two requests on one connection (curl reuses it), a file and a miss: nginx's answers, headers and all.
        ProcessResult curl = await ChildProcess.RunAsync("curl",
        [
            "-sS", "-k", "-i", "-v", "--max-time", "30", "--resolve", $"nginx.test:{Front.Port}:127.0.0.1",
            $"https://nginx.test:{Front.Port}/page.txt", $"https://nginx.test:{Front.Port}/missing.txt",
        ]);
        Assert.True(curl.ExitCode == 0, $"curl failed: {curl}");
        Assert.Contains("HTTP/1.1 200 OK", curl.StandardOutput);
        Assert.Contains("Server: nginx", curl.StandardOutput);
        Assert.Contains("\r\n\r\n" + ProxyFronts.PageText, curl.StandardOutput);
        Assert.Contains("HTTP/1.1 404 Not Found", curl.StandardOutput);
        // curl 7.x says "Re-using existing connection", 8.x "Re-using existing https: connection".
        Assert.Contains("Re-using existing", curl.StandardError);

        ProcessResult sClient = await Clients.OpenSslRequestAsync(Front.Port, "nginx.test");
        Assert.Contains("Server: nginx", sClient.Output);
        // "/" has no index file here: nginx answers 403 for a directory it may not list.
        Assert.Contains("HTTP/1.1 403 Forbidden", sClient.Output);
    }

    [Fact]
    public async Task EchoCarriesLargeTransfersBothWaysAtOnceAndRelaysHalfClose()
    {
        const int total = 100 * 1024 * 1024;
        (Socket _, SslStream tls) = await OpenAsync("echo.test");
        await using (tls)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            Task<byte[]> sent = Task.Run(async () =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                byte[] block = new byte[256 * 1024];
                for (int offset = 0; offset < total; offset += block.Length)
                {
                    // Different bytes in every block, so a block relayed twice or out of order changes the digest.
                    BitConverter.TryWriteBytes(block, offset);
                    Random.Shared.NextBytes(block.AsSpan(4, 64));
                    hash.AppendData(block);
                    await tls.WriteAsync(block, deadline.Token);
                }
                // close_notify: the relay turns it into a FIN, the echo server answers with its own, which comes back as close_notify.
                await tls.ShutdownAsync();
                return hash.GetHashAndReset();
            });
            (long received, byte[] digest) = await ReadToEndAsync(tls, deadline.Token);
            Assert.Equal(total, received);
            Assert.Equal(Convert.ToHexString(await sent), Convert.ToHexString(digest));
        }
        await Front.WaitForOutputAsync($"reason=closed, {total} bytes from the client, {total} from the backend");
    }

    [Fact]
    public async Task ManyConnectionsAtOnceEachGetTheirOwnBytesBack()
    {
        const int connections = 24, bytes = 2 * 1024 * 1024;
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async n =>
        {
            (Socket _, SslStream tls) = await OpenAsync("echo.test");
            await using (tls)
            {
                byte[] data = new byte[bytes];
                new Random(n).NextBytes(data);
                using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                Task write = Task.Run(async () =>
                {
                    await tls.WriteAsync(data, deadline.Token);
                    await tls.ShutdownAsync();
                });
                (long length, byte[] digest) = await ReadToEndAsync(tls, deadline.Token);
                await write;
                Assert.Equal(bytes, length);
                Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(digest));
            }
        }));
    }

    [Fact]
    public async Task ABackendsFinBecomesCloseNotifyAndTheClientMaySendOn()
    {
        (Socket _, SslStream tls) = await OpenAsync("halfclose.test");
        await using (tls)
        {
            Assert.Equal("bye\n", await ReadUntilAsync(tls, "bye\n"));
            // The backend's FIN arrives as close_notify: a read of 0, while the client's own direction stays open.
            Assert.Equal(0, await tls.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            byte[] block = new byte[64 * 1024];
            for (int i = 0; i < 16; i++)
                await tls.WriteAsync(block);
            await tls.ShutdownAsync();
            Assert.Equal($"eof {16 * block.Length}", await _fixture.NextHalfCloseReportAsync());
        }
    }

    [Fact]
    public async Task AClientResetResetsTheBackend()
    {
        // python3's ssl client, closed with SO_LINGER 0: a bare RST (.NET's Socket.Close may shut the socket down first).
        const string script = """
            import socket, ssl, struct, sys
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
            s = ctx.wrap_socket(raw, server_hostname="halfclose.test")
            data = b""
            while not data.endswith(b"bye\n"):
                data += s.recv(16)
            s.sendall(b"x" * 100)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # no SSL shutdown: no close_notify, just the RST
            print("reset sent")
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script, Front.Port.ToString()]);
        Assert.True(result.ExitCode == 0, result.ToString());
        string report = await _fixture.NextHalfCloseReportAsync();
        await Front.WaitForOutputAsync("reason=client_");
        Assert.True(report.StartsWith("reset", StringComparison.Ordinal), $"the backend saw {report}; the front and relays logged:\n{Front.Output}");
        await Front.WaitForOutputAsync("reason=client_reset");
    }

    [Fact]
    public async Task TheProxyV2HeaderCarriesTheClientAddressAndTheTlsFacts()
    {
        (Socket socket, SslStream tls) = await OpenAsync("pp2.test", "x-test");
        await using (tls)
        {
            Assert.Equal("x-test", tls.NegotiatedApplicationProtocol.ToString());
            string text = await ReadUntilAsync(tls, "end\n");
            Dictionary<string, string> parsed = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains('='))
                .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
            Assert.Equal("0x21", parsed["command"]);
            Assert.Equal("0x11", parsed["family"]);
            Assert.Equal(socket.LocalEndPoint!.ToString(), parsed["source"]);
            Assert.Equal($"127.0.0.1:{Front.Port}", parsed["destination"]);
            Assert.Equal("pp2.test", parsed["authority"]);
            Assert.Equal("x-test", parsed["alpn"]);
            Assert.Equal("1", parsed["ssl_client"]);
            Assert.Equal(tls.SslProtocol == SslProtocols.Tls13 ? "TLSv1.3" : "TLSv1.2", parsed["version"]);
            Assert.Equal(TlsNames.CipherSuite((ushort)tls.NegotiatedCipherSuite), parsed["cipher"]);
        }
    }

    [Fact]
    public async Task AServerThatSpeaksFirstIsHeardWithoutARequest()
    {
        await using ChildProcess client = QuietSClient("greet.test");
        await client.WaitForOutputAsync(ProxyBackends.Greeting.TrimEnd());
        await client.WriteAsync("after the greeting\n");
        await client.WaitForOutputAsync("after the greeting", occurrences: 1);
        // -quiet implies -ign_eof: closing its input would not end it.
        client.Kill();
    }

    [Fact]
    public async Task AHandoffPoolWithFirstRequestNoneHandsOnBeforeAnyRequest()
    {
        int before = Front.CountOutput("handed to pool=hold");
        await using ChildProcess client = await SClient.ConnectAsync(Front.Port, "-servername", "hold.test");
        // (SClient names localhost first; s_client sends the last -servername.)
        // Nothing sent yet: the front handed the connection on right after the handshake.
        await Wait.UntilAsync(() => Front.CountOutput("handed to pool=hold") > before, "the front hands the idle connection to pool hold");
        await client.RequestAsync("/after-handoff");
    }

    [Fact]
    public async Task ABackendThatIsDownGetsAnInternalErrorAlertAndOthersAreServed()
    {
        Task<ProcessResult> down = Clients.OpenSslRequestAsync(Front.Port, "down.test");
        Assert.Equal(ProxyFronts.PageText, await Clients.CurlAsync(Front.Port, "localhost", "/page.txt"));
        Assert.Contains("internal error", (await down).Output);
        await Front.WaitForOutputAsync("reason=backend_unavailable");
        Assert.False(Front.HasExited);
        Assert.Equal(ProxyFronts.PageText, await Clients.CurlAsync(Front.Port, "localhost", "/page.txt"));
    }

    [Fact]
    public async Task ABackendThatResetsBecomesAnInternalErrorAlert()
    {
        await using ChildProcess client = QuietSClient("reset.test");
        // -quiet prints nothing of the handshake: the first line goes out once it is done, and reaches the backend.
        await client.WriteAsync("hello\n");
        await client.WaitForOutputAsync("internal error");
        await Front.WaitForOutputAsync("reason=backend_reset");
    }

    [Fact]
    public async Task ASilentBackendIsCutAtItsIdleTimeoutWhileOthersAreServed()
    {
        (Socket _, SslStream tls) = await OpenAsync("idle.test");
        await using (tls)
        {
            Task<int> cut = tls.ReadAsync(new byte[16]).AsTask();
            Assert.Equal(ProxyFronts.PageText, await Clients.CurlAsync(Front.Port, "localhost", "/page.txt"));
            // The backend's idle timeout is 1 s: the relay closes with close_notify, a read of 0.
            Assert.Equal(0, await cut.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        await Front.WaitForOutputAsync("reason=backend_idle");
    }

    [Fact]
    public async Task AConnectionNoRelayCanTakeGetsCloseNotifyNotAnHttpAnswer()
    {
        // The pool's one relay takes one connection at a time; this one holds it (its backend is silent).
        (Socket _, SslStream held) = await OpenAsync("full.test");
        await using (held)
        {
            await Wait.UntilAsync(() => Front.Output.Contains("handed to pool=full"), "the first connection reaches the relay");
            (Socket _, SslStream refused) = await OpenAsync("full.test");
            await using (refused)
            {
                // No request was read and no ALPN says HTTP: a 503 would be garbage to an SMTP client.
                Assert.Equal(0, await refused.ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            }
            await Front.WaitForOutputAsync("reason=no_worker: every worker of pool full is at MaxConnectionsPerWorker");
        }
    }

    [Fact]
    public async Task ABackendThatDoesNotReadStopsTheClientsWrites()
    {
        (Socket _, SslStream tls) = await OpenAsync("slow.test");
        await using (tls)
        {
            byte[] block = new byte[1024 * 1024];
            long written = 0;
            while (written < 1L << 30)
            {
                // A write that stays blocked this long means the relay stopped reading: back-pressure reached the client.
                Task write = tls.WriteAsync(block).AsTask();
                if (await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(3))) != write)
                    break;
                await write;
                written += block.Length;
            }
            // The kernel's socket buffers on three sockets and one relay buffer: megabytes, not the gigabyte offered.
            Assert.InRange(written, 0, 64L * 1024 * 1024);
        }
    }

    /// <summary>s_client with SNI <paramref name="host"/>, printing only what the server sends (and errors).</summary>
    private ChildProcess QuietSClient(string host) =>
        ChildProcess.Start("openssl", ["s_client", "-connect", $"127.0.0.1:{Front.Port}", "-servername", host, "-quiet"]);

    private async Task<(Socket Socket, SslStream Tls)> OpenAsync(string host, params string[] alpn)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, Front.Port);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = alpn.Length == 0 ? null : [.. alpn.Select(p => new SslApplicationProtocol(p))],
        }, deadline.Token);
        return (socket, tls);
    }

    private static async Task<(long Length, byte[] Digest)> ReadToEndAsync(SslStream tls, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[256 * 1024];
        long length = 0;
        while (await tls.ReadAsync(buffer, cancellationToken) is int n and > 0)
        {
            hash.AppendData(buffer, 0, n);
            length += n;
        }
        return (length, hash.GetHashAndReset());
    }

    private static async Task<string> ReadUntilAsync(SslStream tls, string end)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!text.ToString().EndsWith(end, StringComparison.Ordinal))
        {
            int n = await tls.ReadAsync(buffer, deadline.Token);
            if (n == 0)
                throw new IOException($"closed before '{end.Trim()}'; got:\n{text}");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return text.ToString();
    }
}
