using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Handoff mode against real clients: the front does the handshake and reads the request, a worker continues the session.</summary>
public sealed class HandoffTests : IClassFixture<HandoffFronts>
{
    private readonly HandoffFronts _fronts;

    public HandoffTests(HandoffFronts fronts) => _fronts = fronts;

    public static TheoryData<string, string, string> Suites => new()
    {
        { "ecdsa", "1.3", "TLS_AES_128_GCM_SHA256" },
        { "ecdsa", "1.3", "TLS_AES_256_GCM_SHA384" },
        { "ecdsa", "1.3", "TLS_CHACHA20_POLY1305_SHA256" },
        { "ecdsa", "1.2", "ECDHE-ECDSA-AES128-GCM-SHA256" },
        { "ecdsa", "1.2", "ECDHE-ECDSA-AES256-GCM-SHA384" },
        { "ecdsa", "1.2", "ECDHE-ECDSA-CHACHA20-POLY1305" },
        { "rsa", "1.3", "TLS_AES_128_GCM_SHA256" },
        { "rsa", "1.3", "TLS_AES_256_GCM_SHA384" },
        { "rsa", "1.3", "TLS_CHACHA20_POLY1305_SHA256" },
        { "rsa", "1.2", "ECDHE-RSA-AES128-GCM-SHA256" },
        { "rsa", "1.2", "ECDHE-RSA-AES256-GCM-SHA384" },
        { "rsa", "1.2", "ECDHE-RSA-CHACHA20-POLY1305" },
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task TwoRequestsOnOneConnectionAreServedByOnePreSpawnedWorker(string keyType, string version, string suite)
    {
        BatonFront front = _fronts.For(keyType);
        string[] suiteFlags = version == "1.3"
            ? ["--tlsv1.3", "--tls13-ciphers", suite]
            : ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", suite];
        // curl fetches its URLs in order over one connection; CurlAsync puts its own URL last.
        string output = await Clients.CurlAsync(front.Port, "localhost", "/second", [.. suiteFlags, "--http1.1", $"https://localhost:{front.Port}/first"]);

        string[] pages = output.Split("Hello from Baton.", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, pages.Length);
        Assert.Equal($"GET /first HTTP/1.1", Clients.FactsField(pages[0], "request"));
        Assert.Equal($"GET /second HTTP/1.1", Clients.FactsField(pages[1], "request"));
        int worker = Clients.WorkerPid(pages[0]);
        Assert.Equal(worker, Clients.WorkerPid(pages[1]));
        Assert.Contains(worker, front.InitialWorkers["default"]);
        Assert.Equal("handoff", Clients.FactsField(pages[0], "mode"));
        Assert.Equal($"TLSv{version} {suite}", Clients.FactsField(pages[1], "tls"));
        Assert.Equal("localhost", Clients.FactsField(pages[0], "sni"));
    }

    [Theory]
    [InlineData("k")]
    [InlineData("K")]
    public async Task KeyUpdateAfterTheHandoffKeepsTheConnectionWorking(string command)
    {
        await using SClientSession client = await SClientSession.ConnectAsync(_fronts.Ecdsa.Port, "-tls1_3");
        await client.RequestAsync("/before");
        await client.SendAsync(command + "\n");
        await client.WaitForAsync("KEYUPDATE", "s_client to send its KeyUpdate");
        await client.RequestAsync("/after");
        // s_client drops whatever follows a command in the same read: wait for it to act first.
        await client.SendAsync("k\n");
        await client.WaitForCountAsync("KEYUPDATE", 2, "s_client to send a second KeyUpdate");
        await client.RequestAsync("/after-second-update");
    }

    [Fact]
    public async Task AResumedSessionIsHandedOffToo()
    {
        string session = Path.GetTempFileName();
        try
        {
            await using (SClientSession first = await SClientSession.ConnectAsync(_fronts.Ecdsa.Port, "-tls1_3", "-sess_out", session))
                await first.RequestAsync("/first");
            await using SClientSession second = await SClientSession.ConnectAsync(_fronts.Ecdsa.Port, "-tls1_3", "-sess_in", session);
            await second.RequestAsync("/resumed");
            Assert.Contains("Reused, TLSv1.3", second.Output);
            Assert.Contains("mode: handoff", second.Output);
        }
        finally
        {
            File.Delete(session);
        }
    }

    [Fact]
    public async Task SmallRecordsCarryALargeRequestHead()
    {
        var head = new StringBuilder("GET /big-head HTTP/1.1\r\nHost: localhost\r\n");
        for (int i = 0; head.Length < 20 * 1024; i++)
            head.Append($"X-Filler-{i}: {new string('a', 1000)}\r\n");
        head.Append("\r\n");
        await using SClientSession client = await SClientSession.ConnectAsync(_fronts.Ecdsa.Port, "-max_send_frag", "512");
        await client.SendAsync(head.ToString());
        await client.WaitForAsync("request: GET /big-head HTTP/1.1", "the answer to a 20 KB head sent in 512-byte records");
        await client.RequestAsync("/after-big-head");
    }

    [Fact]
    public async Task PaddedRecordsAreRead()
    {
        await using SClientSession client = await SClientSession.ConnectAsync(_fronts.Ecdsa.Port, "-tls1_3", "-record_padding", "512");
        await client.RequestAsync("/padded-1");
        await client.RequestAsync("/padded-2");
    }

    [Fact]
    public async Task ThreePipelinedRequestsInOneRecordAreAllAnswered()
    {
        await using TlsConnection connection = await TlsConnection.OpenAsync(_fronts.Ecdsa.Port);
        string pipelined = string.Concat(Enumerable.Range(1, 3).Select(i => $"GET /p{i} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        string[] pages = await connection.SendAndReadResponsesAsync(pipelined, 3);
        for (int i = 0; i < 3; i++)
            Assert.Equal($"GET /p{i + 1} HTTP/1.1", Clients.FactsField(pages[i], "request"));
        Assert.Single(pages.Select(Clients.WorkerPid).Distinct());
    }

    [Fact]
    public async Task AOneMebibyteUploadArrivesIntact()
    {
        byte[] upload = RandomNumberGenerator.GetBytes(1024 * 1024);
        using HttpClient client = Clients.CreateHttpClient();
        using var response = await client.PostAsync($"https://localhost:{_fronts.Ecdsa.Port}/upload", new ByteArrayContent(upload));
        string page = await response.Content.ReadAsStringAsync();
        Assert.Equal($"{upload.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(upload))}", Clients.FactsField(page, "body"));
        Assert.Equal("handoff", Clients.FactsField(page, "mode"));
    }

    [Fact]
    public async Task ASixteenMebibyteDownloadArrivesIntact()
    {
        const int size = 16 * 1024 * 1024;
        byte[] expected = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();
        using HttpClient client = Clients.CreateHttpClient();
        byte[] downloaded = await client.GetByteArrayAsync($"https://localhost:{_fronts.Ecdsa.Port}/download?bytes={size}");
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(downloaded));
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task HttpClientAndPythonAreServedByAWorker(SslProtocols protocols)
    {
        using HttpClient client = Clients.CreateHttpClient(protocols);
        string page = await client.GetStringAsync($"https://localhost:{_fronts.Ecdsa.Port}/");
        Assert.Contains(Clients.WorkerPid(page), _fronts.Ecdsa.InitialWorkers["default"]);
        Assert.Contains("mode: handoff", await Clients.PythonRequestAsync(_fronts.Ecdsa.Port));
    }

    [Fact]
    public async Task HandoffWorkersHoldNoKeyMaterial()
    {
        string keyPem = await File.ReadAllTextAsync(_fronts.RsaKeyFile);
        string keyBody = keyPem.Split('\n')[1];
        foreach (int worker in _fronts.Rsa.InitialWorkers["default"])
        {
            Assert.DoesNotContain(_fronts.RsaKeyFile, ProcFs.CommandLine(worker));
            string environment = ProcFs.Environment(worker);
            Assert.DoesNotContain(_fronts.RsaKeyFile, environment);
            Assert.DoesNotContain(keyBody, environment);
            foreach (string fd in Directory.GetFiles($"/proc/{worker}/fd"))
            {
                string? target = new FileInfo(fd).LinkTarget;
                Assert.NotEqual(Path.GetFullPath(_fronts.RsaKeyFile), target);
            }
        }
        await _fronts.Rsa.WaitForOutputAsync("mode=handoff certificates=0");
    }
}
