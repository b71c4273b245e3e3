using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Handoff mode: routing on the first request and the front's own error answers. The negative controls (a wrong
/// sequence number breaks a real client) are in Tls/Handoff/HandoffCurlTests, on the same export.
/// </summary>
public sealed class HandoffRequestTests
{
    private static string WriteConfig(object baton)
    {
        string path = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { Baton = baton }));
        return path;
    }

    [Fact]
    public async Task HostAndPathPrefixPickThePoolAndBadHeadsAreAnsweredByTheFront()
    {
        string config = WriteConfig(new
        {
            Listeners = new[] { new { Address = "127.0.0.1:0" } },
            Pools = new Dictionary<string, object>
            {
                ["default"] = new { Workers = 1, Mode = "handoff" },
                ["api"] = new { Workers = 1, Mode = "handoff" },
                ["shop"] = new { Workers = 1, Mode = "handoff" },
            },
            Routes = new object[]
            {
                new { PathPrefix = "/api/", Pool = "api" },
                new { Hosts = new[] { "shop.example", "*.shop.example" }, Pool = "shop" },
            },
            Limits = new { MaxRequestHeadBytes = 4096, RequestHeadTimeout = "00:00:01" },
        });
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            Assert.Equal("api", Clients.FactsField(await Clients.CurlAsync(front.Port, "localhost", "/api/items"), "pool"));
            Assert.Equal("shop", Clients.FactsField(await Clients.CurlAsync(front.Port, "shop.example", "/"), "pool"));
            Assert.Equal("shop", Clients.FactsField(await Clients.CurlAsync(front.Port, "www.shop.example", "/"), "pool"));
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port, "localhost", "/apix"), "pool"));

            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\nHost: a\r\nX\u0001: y\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 400", await RawHeadAsync(front.Port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 431", await RawHeadAsync(front.Port, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('a', 5000) + "\r\n\r\n"));
            Assert.Contains("pool: default", await RawHeadAsync(front.Port, "GET /old HTTP/1.0\r\n\r\n"));
            await front.WaitForOutputAsync("reason=request_invalid");

            await using (TlsConnection silent = await TlsConnection.OpenAsync(front.Port))
                await front.WaitForOutputAsync("reason=request_timeout");
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
        }
        finally
        {
            File.Delete(config);
        }
    }

    /// <summary>
    /// Issue 11: where every route leads to a handoff pool the front does not parse the hello; libssl reads it and its
    /// ClientHello callback routes on the SNI, choosing the ALPN list of the pool the name picks.
    /// </summary>
    [Fact]
    public async Task OnAHandoffOnlyListenerLibsslsHelloCallbackPicksThePoolAndItsAlpn()
    {
        string config = WriteConfig(new
        {
            Listeners = new[] { new { Address = "127.0.0.1:0" } },
            Pools = new Dictionary<string, object>
            {
                ["web"] = new { Workers = 1, Mode = "handoff" },
                ["api"] = new { Workers = 1, Mode = "handoff", Alpn = new[] { "http/1.1" } },
            },
            Routes = new object[] { new { ServerNames = new[] { "api.example" }, Pool = "api" } },
            DefaultPool = "web",
        });
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            string web = await Clients.CurlAsync(front.Port, "web.example", "/", "--http2");
            Assert.Equal(("web", "h2"), (Clients.FactsField(web, "pool"), Clients.FactsField(web, "alpn")));
            string api = await Clients.CurlAsync(front.Port, "API.example", "/", "--http2");
            Assert.Equal(("api", "http/1.1"), (Clients.FactsField(api, "pool"), Clients.FactsField(api, "alpn")));

            // No peek window: a 16 KiB hello with every byte in its own record (98 KB on the wire) is libssl's to take.
            byte[] message = CraftedHello.Message(16384);
            byte[] split = [.. Enumerable.Range(0, message.Length).SelectMany(i => CraftedHello.Handshake(message.AsSpan(i, 1)))];
            List<(byte Type, byte[] Payload)> answer = await CraftedHello.ExchangeAsync(front.Port, split, CraftedHello.IsServerHelloOrAlert);
            Assert.Equal(GeneratedHellos.Proceeds, CraftedHello.Outcome(answer));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task ARequestRoutedToAPassthroughPoolGets421AndH2StaysWithItsSniPool()
    {
        string config = WriteConfig(new
        {
            Listeners = new[] { new { Address = "127.0.0.1:0" } },
            Pools = new Dictionary<string, object>
            {
                ["default"] = new { Workers = 1 },
                ["api"] = new { Workers = 1, Mode = "handoff" },
                ["web"] = new { Workers = 1, Mode = "handoff" },
            },
            // Validation refuses a passthrough fallback for a path route (DefaultPool, a catch-all route), but
            // not a later route for the same name: that is where the front's 421 is still the answer.
            Routes = new object[]
            {
                new { ServerNames = new[] { "web.example" }, Pool = "web" },
                new { ServerNames = new[] { "localhost" }, PathPrefix = "/api/", Pool = "api" },
                new { ServerNames = new[] { "localhost" }, Pool = "default" },
            },
            DefaultPool = "web",
        });
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            Assert.Equal("api", Clients.FactsField(await Clients.CurlAsync(front.Port, "localhost", "/api/items"), "pool"));

            // The front terminated TLS to read the path; the passthrough pool cannot continue such a session.
            string misdirected = await Clients.CurlAsync(front.Port, "localhost", "/other", "-w", "status=%{http_code}");
            Assert.Contains("421 Misdirected Request", misdirected);
            Assert.Contains("status=421", misdirected);
            await front.WaitForOutputAsync("reason=request_invalid");

            // SNI picked web, which speaks h2: the front reads no head (an h2 preface is no HTTP/1.1 head) and hands it over.
            string h2 = await Clients.CurlAsync(front.Port, "web.example", "/api/items", "--http2");
            Assert.Equal(("web", "h2"), (Clients.FactsField(h2, "pool"), Clients.FactsField(h2, "alpn")));
            // A connection still to be routed by path is offered HTTP/1.1 only.
            string routed = await Clients.CurlAsync(front.Port, "localhost", "/api/items", "--http2");
            Assert.Equal(("api", "http/1.1"), (Clients.FactsField(routed, "pool"), Clients.FactsField(routed, "alpn")));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task AClientThatStallsInTheHandshakeIsClosedAtTheDeadline()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--mode", "handoff"],
            new Dictionary<string, string> { ["Baton__Limits__HandshakeTimeout"] = "00:00:01" });
        // Sends a real ClientHello (python's ssl over memory BIOs), then never its Finished.
        const string stalling = """
            import socket, ssl, sys
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
            s.sendall(outgoing.read())
            while s.recv(65536):
                pass
            print("closed by server")
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", stalling, front.Port.ToString()]);
        Assert.Contains("closed by server", result.StandardOutput);
        await front.WaitForOutputAsync("reason=handshake_timeout");
        Assert.Contains("mode: handoff", await Clients.CurlAsync(front.Port));
    }

    /// <summary>Sends one raw request head over TLS and returns everything the server answers before closing.</summary>
    private static async Task<string> RawHeadAsync(int port, string head)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        await tls.WriteAsync(Encoding.Latin1.GetBytes(head));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new MemoryStream();
        byte[] buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await tls.ReadAsync(buffer, deadline.Token)) > 0)
            {
                answer.Write(buffer, 0, n);
                if (head.StartsWith("GET /old HTTP/1.0", StringComparison.Ordinal) && Encoding.ASCII.GetString(answer.ToArray()).Contains("body: "))
                    break;
            }
        }
        catch (IOException)
        {
            // A reset after the answer is fine: what arrived is what we check.
        }
        return Encoding.ASCII.GetString(answer.ToArray());
    }
}
