using System.Net;
using System.Security.Cryptography;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.AspNetCore;

/// <summary>samples/HelloWorker — an ordinary ASP.NET Core app with UseBaton() — behind a real front, against real clients.</summary>
public sealed class HelloWorkerTests
{
    public static TheoryData<string> Modes => new() { "passthrough", "handoff" };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task CurlOverHttp11AndHttp2SeesTheClientSniAlpnAndTls(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        int[] workers = front.InitialWorkers[SampleFront.Pool];
        foreach ((string flag, string alpn, string protocol) in new[] { ("--http1.1", "http/1.1", "HTTP/1.1"), ("--http2", "h2", "HTTP/2") })
        {
            string page = await Clients.CurlAsync(front.Port, "app.example", "/facts?x=1", flag, "--tlsv1.3");
            Assert.Contains(Clients.WorkerPid(page), workers);
            Assert.Equal(SampleFront.Pool, Clients.FactsField(page, "pool"));
            Assert.Equal(mode, Clients.FactsField(page, "mode"));
            Assert.StartsWith("TLSv1.3 TLS_", Clients.FactsField(page, "tls"));
            Assert.Equal("app.example", Clients.FactsField(page, "sni"));
            Assert.Equal(alpn, Clients.FactsField(page, "alpn"));
            Assert.StartsWith("127.0.0.1:", Clients.FactsField(page, "client"));
            Assert.Equal($"GET /facts?x=1 {protocol}", Clients.FactsField(page, "request"));
        }
        string tls12 = await Clients.CurlAsync(front.Port, "localhost", "/", "--http2", "--tlsv1.2", "--tls-max", "1.2");
        Assert.StartsWith("TLSv1.2 TLS_ECDHE_", Clients.FactsField(tls12, "tls"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task RequestBodiesReachTheAppWhole(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        byte[] body = RandomNumberGenerator.GetBytes(300_000);
        string file = Path.Combine(Path.GetTempPath(), $"baton-body-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, body);
        try
        {
            string expected = $"{body.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(body))}";
            foreach (string flag in new[] { "--http1.1", "--http2" })
            {
                string page = await Clients.CurlAsync(front.Port, "localhost", "/upload", flag, "--data-binary", "@" + file);
                Assert.Equal(expected, Clients.FactsField(page, "body"));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task HttpClientSpeaksHttp2(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        using HttpClient client = SampleFront.CreateClient(HttpVersion.Version20);
        using HttpResponseMessage response = await client.GetAsync($"https://localhost:{front.Port}/h2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Contains("Kestrel", response.Headers.Server.ToString());
        string page = await response.Content.ReadAsStringAsync();
        Assert.Equal("GET /h2 HTTP/2", Clients.FactsField(page, "request"));
        Assert.Equal("h2", Clients.FactsField(page, "alpn"));
        Assert.Equal("localhost", Clients.FactsField(page, "sni"));
        // Many streams on the one connection, all answered by the same worker.
        string[] pages = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.GetStringAsync($"https://localhost:{front.Port}/s{i}")));
        Assert.Single(pages.Select(Clients.WorkerPid).Append(Clients.WorkerPid(page)).Distinct());
        Assert.Single(pages.Select(p => Clients.FactsField(p, "client")).Distinct());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task HundredKeepAliveConnectionsTimesTwentyRequests(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        int[] workers = front.InitialWorkers[SampleFront.Pool];
        IReadOnlySet<int> children = front.CurrentWorkers();
        using HttpClient client = SampleFront.CreateClient(HttpVersion.Version11, connections: 100);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<string[]>[] clients = Enumerable.Range(0, 100).Select(async c =>
        {
            await gate.Task;
            var pages = new string[20];
            for (int r = 0; r < 20; r++)
                pages[r] = await client.GetStringAsync($"https://localhost:{front.Port}/c{c}/r{r}");
            return pages;
        }).ToArray();
        gate.SetResult();
        string[][] results = await Task.WhenAll(clients);

        var clientPorts = new HashSet<string>();
        for (int c = 0; c < 100; c++)
        {
            for (int r = 0; r < 20; r++)
            {
                string page = results[c][r];
                Assert.Equal($"GET /c{c}/r{r} HTTP/1.1", Clients.FactsField(page, "request"));
                Assert.Contains(Clients.WorkerPid(page), workers);
                clientPorts.Add(Clients.FactsField(page, "client"));
            }
        }
        // 2000 answers over at most 100 connections: keep-alive held.
        Assert.InRange(clientPorts.Count, 1, 100);
        Assert.True(front.CurrentWorkers().SetEquals(children), "no worker was spawned or lost while serving");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task KestrelLimitsStillApply(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        // Kestrel's MaxRequestHeadersTotalSize is 32 KiB by default.
        string header = "X-Big: " + new string('a', 40 * 1024);
        string status = await Clients.CurlAsync(front.Port, "localhost", "/", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "-H", header);
        Assert.Equal("431", status);
        Assert.Contains("pool: hello", await Clients.CurlAsync(front.Port, "localhost", "/", "--http1.1"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task SigtermLetsTheSlowRequestFinishThenTheWorkerExits(string mode)
    {
        await using BatonFront front = await SampleFront.StartAsync(mode);
        using HttpClient client = SampleFront.CreateClient(HttpVersion.Version11, connections: 1);
        string url = $"https://localhost:{front.Port}";
        int victim = Clients.WorkerPid(await client.GetStringAsync(url + "/first"));

        // Same keep-alive connection, so the same worker.
        Task<HttpResponseMessage> slow = client.GetAsync(url + "/slow?ms=3000");
        await front.WaitForOutputAsync($"slow request started in worker {victim}");
        Interop.Libc.Kill(victim, Interop.Libc.SIGTERM);

        // While it drains, new connections go to the other worker.
        for (int i = 0; i < 5; i++)
            Assert.NotEqual(victim, Clients.WorkerPid(await Clients.CurlAsync(front.Port, "localhost", "/", "--http1.1")));

        using HttpResponseMessage response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string page = await response.Content.ReadAsStringAsync();
        Assert.Equal(victim, Clients.WorkerPid(page));
        Assert.Equal("GET /slow?ms=3000 HTTP/1.1", Clients.FactsField(page, "request"));
        Assert.True(response.Headers.ConnectionClose, "Kestrel closes the connection of a draining worker");

        await Wait.UntilAsync(() => !ProcFs.IsAlive(victim), "the drained worker exits", TimeSpan.FromSeconds(20));
        await front.WaitForOutputAsync($"pid={victim}");
        for (int i = 0; i < 5; i++)
            Assert.NotEqual(victim, Clients.WorkerPid(await Clients.CurlAsync(front.Port, "localhost", "/", "--http1.1")));
    }
}
