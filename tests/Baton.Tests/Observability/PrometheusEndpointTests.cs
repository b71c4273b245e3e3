using System.Net;
using System.Net.Sockets;
using Baton.Tests.EndToEnd;
using Baton.Tests.Infrastructure;
using Baton.Tests.Tls;

namespace Baton.Tests.Observability;

/// <summary>The Prometheus endpoint of a real front, scraped over HTTP and read with a strict exposition-format parser.</summary>
public sealed class PrometheusEndpointTests
{
    private static object HandoffFront(string metricsAddress, object? limits = null) => new
    {
        Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } },
        Pools = new { @default = new { Workers = 2, Mode = "handoff" } },
        Metrics = new { Prometheus = new { Address = metricsAddress } },
        Limits = limits ?? new { },
    };

    [Fact]
    public async Task CountersMoveAsRequestsFlowByVersionByPoolAndByFailureReason()
    {
        await using MetricsFront metrics = await MetricsFront.StartAsync(address => HandoffFront(address));
        int port = metrics.Front.Port;
        PrometheusText before = await metrics.ScrapeAsync();

        await Clients.CurlAsync(port, extra: ["--http1.1", "--tlsv1.3"]);
        await Clients.CurlAsync(port, extra: ["--http2", "--tlsv1.3"]);
        await Clients.CurlAsync(port, extra: ["--http1.1", "--tlsv1.2", "--tls-max", "1.2"]);
        using (Socket plain = await Clients.SendRawAsync(port, Clients.Ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
            await Clients.ReadUntilClosedAsync(plain, TimeSpan.FromSeconds(30));
        // A handshake record whose body is no ClientHello.
        using (Socket broken = await Clients.SendRawAsync(port, [0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff]))
            await Clients.ReadUntilClosedAsync(broken, TimeSpan.FromSeconds(30));
        // A handshake done, then a request head the front answers 400: counted as both.
        await using (TlsConnection badHead = await TlsConnection.OpenAsync(port))
            Assert.StartsWith("400 ", (await badHead.SendAndReadResponsesAsync("GET /%00 HTTP/1.1\r\nHost: localhost\r\n\r\n", 1))[0]);

        PrometheusText after = await metrics.ScrapeUntilAsync(
            s => s.Sum("baton_connections_accepted_total", "listener=public") == 6 && s.Sum("baton_connections_failed_total") == 3,
            "six connections were accepted and three failed");
        Assert.Equal("counter", after.TypesByFamily["baton_tls_handshakes_total"]);
        Assert.Equal("histogram", after.TypesByFamily["baton_dispatch_duration_seconds"]);
        Assert.Equal(3, after.Sum("baton_tls_handshakes_total", "tls_protocol_version=1.3"));
        Assert.Equal(1, after.Sum("baton_tls_handshakes_total", "tls_protocol_version=1.2"));
        Assert.Equal(4, after.Sum("baton_tls_handshakes_total", "tls_resumed=false"));
        Assert.All(after.Matching("baton_tls_handshakes_total", "tls_protocol_version=1.3"), s => Assert.StartsWith("TLS_", s.Labels["tls_cipher"]));
        Assert.All(after.Matching("baton_tls_handshakes_total", "tls_protocol_version=1.2"), s => Assert.StartsWith("ECDHE-", s.Labels["tls_cipher"]));
        Assert.Equal(3, after.Sum("baton_connections_handed_off_total", "pool=default"));
        Assert.Equal(1, after.Sum("baton_connections_failed_total", "reason=plain_http"));
        Assert.Equal(1, after.Sum("baton_connections_failed_total", "reason=client_hello_invalid"));
        Assert.Equal(1, after.Sum("baton_connections_failed_total", "reason=request_invalid"));
        Assert.Equal(3, after.Sum("baton_dispatch_duration_seconds_count", "pool=default"));
        Assert.InRange(after.Sum("baton_dispatch_duration_seconds_sum", "pool=default"), 0, 3 * 5.0);
        Assert.Equal(0, before.Sum("baton_tls_handshakes_total"));
    }

    [Fact]
    public async Task GaugesShowWorkersByPidCertificatesAndTheConnectionsTheFrontAndEachWorkerHold()
    {
        // Silent clients stay in the front for a minute, long enough to be seen there.
        await using MetricsFront metrics = await MetricsFront.StartAsync(address => HandoffFront(address, new { ClientHelloTimeout = "00:01:00" }));
        int port = metrics.Front.Port;
        int[] pids = metrics.Front.InitialWorkers["default"];
        PrometheusText idle = await metrics.ScrapeAsync();
        Assert.Equal(pids.Order(), idle.Matching("baton_worker_connections", "pool=default").Select(s => int.Parse(s.Labels["pid"])).Order());
        Assert.Equal(0, idle.Sum("baton_front_connections"));
        PrometheusSample expiry = Assert.Single(idle.Matching("baton_tls_certificate_time_to_expiry_seconds", "certificate=localhost"));
        // The certificate made in memory is valid for a year.
        Assert.InRange(expiry.Value, TimeSpan.FromDays(360).TotalSeconds, TimeSpan.FromDays(366).TotalSeconds);

        var silent = new List<Socket>();
        for (int i = 0; i < 3; i++)
            silent.Add(await Clients.SendRawAsync(port, []));
        await metrics.ScrapeUntilAsync(s => s.Sum("baton_front_connections") == 3, "the front holds the three silent connections");

        await using TlsConnection first = await TlsConnection.OpenAsync(port);
        await using TlsConnection second = await TlsConnection.OpenAsync(port);
        int servedBy = Clients.WorkerPid(await first.GetAsync());
        Clients.WorkerPid(await second.GetAsync());
        PrometheusText busy = await metrics.ScrapeUntilAsync(s => s.Sum("baton_pool_connections", "pool=default") == 2,
            "the pool serves the two keep-alive connections");
        Assert.Equal(2, busy.Sum("baton_worker_connections", "pool=default"));
        Assert.InRange(busy.Sum("baton_worker_connections", $"pid={servedBy}"), 1, 2);
        Assert.Equal(3, busy.Sum("baton_front_connections"));

        foreach (Socket socket in silent)
            socket.Dispose();
        await metrics.ScrapeUntilAsync(s => s.Sum("baton_front_connections") == 0, "the front holds nothing once the silent clients left");
    }

    [Fact]
    public async Task TheExpiryGaugeHasOneSeriesPerConfiguredCertificateWithItsSerial()
    {
        using TempFile wildcardChain = TempFile.WithBytes(TestCertificates.WildcardExample.CertificatePem);
        using TempFile wildcardKey = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        using TempFile apiChain = TempFile.WithBytes(TestCertificates.ApiOtherRsa.CertificatePem);
        using TempFile apiKey = TempFile.WithBytes(TestCertificates.ApiOtherRsa.PrivateKeyPem);
        await using MetricsFront metrics = await MetricsFront.StartAsync(address => new
        {
            Listeners = new[] { new { Address = "127.0.0.1:0" } },
            Pools = new { @default = new { Workers = 1 } },
            Certificates = new[]
            {
                new { CertificateFile = wildcardChain.Path, KeyFile = wildcardKey.Path },
                new { CertificateFile = apiChain.Path, KeyFile = apiKey.Path },
            },
            Metrics = new { Prometheus = new { Address = address } },
        });

        PrometheusText scrape = await metrics.ScrapeAsync();

        foreach ((string name, TempFile chain) in new[] { ("*.example.test", wildcardChain), ("api.other.test", apiChain) })
        {
            // The serial as openssl prints it, and the expiry as it reads it.
            ProcessResult x509 = await ChildProcess.RunAsync("openssl", ["x509", "-in", chain.Path, "-noout", "-serial", "-enddate"]);
            string serial = x509.StandardOutput.Split('\n')[0]["serial=".Length..].Trim().ToLowerInvariant();
            DateTimeOffset notAfter = DateTimeOffset.ParseExact(
                x509.StandardOutput.Split('\n')[1]["notAfter=".Length..].Trim().Replace("  ", " "), "MMM d HH:mm:ss yyyy 'GMT'",
                System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
            PrometheusSample expiry = Assert.Single(scrape.Matching("baton_tls_certificate_time_to_expiry_seconds", $"certificate={name}"));
            Assert.Equal(serial.TrimStart('0'), expiry.Labels["serial"].TrimStart('0'));
            Assert.InRange(expiry.Value, (notAfter - DateTimeOffset.UtcNow).TotalSeconds - 120, (notAfter - DateTimeOffset.UtcNow).TotalSeconds + 1);
        }
        Assert.Equal(2, scrape.Matching("baton_tls_certificate_time_to_expiry_seconds").Count());
    }

    [Fact]
    public async Task AKilledWorkerIsCountedAsARestartAndItsPidLeavesTheWorkerGauge()
    {
        await using MetricsFront metrics = await MetricsFront.StartAsync(address => HandoffFront(address));
        int killed = metrics.Front.InitialWorkers["default"][0];

        Interop.Libc.Kill(killed, Interop.Libc.SIGKILL);

        PrometheusText after = await metrics.ScrapeUntilAsync(
            s => s.Sum("baton_workers_restarts_total", "pool=default") == 1 && s.Matching("baton_worker_connections").Count() == 2
                && !s.Matching("baton_worker_connections", $"pid={killed}").Any(),
            "the restart is counted and the new worker replaced the killed one in the gauge");
        Assert.Equal(metrics.Front.CurrentWorkers().Order(), after.Matching("baton_worker_connections").Select(s => int.Parse(s.Labels["pid"])).Order());
    }

    [Fact]
    public async Task OnEveryAddressTheEndpointAnswersUnderAnyHostAndOnlyOnItsPath()
    {
        await using MetricsFront metrics = await MetricsFront.StartAsync(address => HandoffFront(address.Replace("127.0.0.1", "0.0.0.0")));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var byName = new HttpRequestMessage(HttpMethod.Get, metrics.Url) { Headers = { Host = "prometheus.example:9464" } };
        using HttpResponseMessage named = await http.SendAsync(byName);
        using HttpResponseMessage elsewhere = await http.GetAsync($"http://127.0.0.1:{metrics.MetricsPort}/other");

        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Contains(PrometheusText.Parse(await named.Content.ReadAsStringAsync()).Samples, s => s.Name == "baton_worker_connections");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task AnEndpointAddressInUseEndsTheStartWithOneLineNamingTheKey()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        using TempFile config = TempFile.Config(HandoffFront(taken.LocalEndPoint!.ToString()!));

        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", config.Path]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"baton: cannot serve metrics on {taken.LocalEndPoint} (Baton:Metrics:Prometheus:Address): ", result.StandardError);
        Assert.DoesNotContain("baton ready", result.StandardOutput);
    }
}
