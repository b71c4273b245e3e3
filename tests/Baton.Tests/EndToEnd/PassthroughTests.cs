using System.Security.Authentication;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>The embedded default (`baton serve`, passthrough) against real clients.</summary>
public sealed class PassthroughTests
{
    [Fact]
    public async Task WorkersExistBeforeTheFirstConnectionAndServeEveryRequest()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        int[] workers = front.InitialWorkers["default"];
        Assert.Equal(2, workers.Length);
        Assert.All(workers, pid => Assert.True(ProcFs.IsAlive(pid), $"worker {pid} is not running"));
        IReadOnlySet<int> childrenBefore = front.CurrentWorkers();
        Assert.True(childrenBefore.SetEquals(workers), "the front's children are exactly the announced workers");

        var servedBy = new HashSet<int>();
        for (int i = 0; i < 50; i++)
        {
            string page = await Clients.CurlAsync(front.Port);
            int pid = Clients.WorkerPid(page);
            Assert.Contains(pid, workers);
            Assert.NotEqual(front.Pid, pid);
            servedBy.Add(pid);
        }

        Assert.True(front.CurrentWorkers().SetEquals(childrenBefore), "no process was spawned while serving");
        Assert.NotEmpty(servedBy);
    }

    [Theory]
    [InlineData("--tlsv1.2", "--tls-max", "1.2", "TLSv1.2")]
    [InlineData("--tlsv1.3", "--tls-max", "1.3", "TLSv1.3")]
    public async Task CurlGetsAnAnswerOverEachTlsVersion(string min, string maxFlag, string max, string expected)
    {
        await using BatonFront front = await BatonFront.StartAsync();
        string page = await Clients.CurlAsync(front.Port, "localhost", "/", min, maxFlag, max, "--http1.1");
        Assert.StartsWith(expected, Clients.FactsField(page, "tls"));
        Assert.Equal("passthrough", Clients.FactsField(page, "mode"));
        Assert.Equal("localhost", Clients.FactsField(page, "sni"));
        Assert.Equal("http/1.1", Clients.FactsField(page, "alpn"));
        Assert.StartsWith("127.0.0.1:", Clients.FactsField(page, "client"));
    }

    [Theory]
    [InlineData("-tls1_2", "TLSv1.2")]
    [InlineData("-tls1_3", "TLSv1.3")]
    public async Task OpenSslClientGetsAnAnswer(string versionFlag, string expected)
    {
        await using BatonFront front = await BatonFront.StartAsync();
        ProcessResult result = await Clients.OpenSslRequestAsync(front.Port, "localhost", versionFlag);
        Assert.Contains("HTTP/1.1 200 OK", result.StandardOutput);
        Assert.Contains($"tls: {expected}", result.StandardOutput);
        Assert.Contains(front.InitialWorkers["default"], pid => result.StandardOutput.Contains($"worker pid: {pid}"));
    }

    [Theory]
    [InlineData(SslProtocols.Tls12, "TLSv1.2")]
    [InlineData(SslProtocols.Tls13, "TLSv1.3")]
    public async Task HttpClientGetsAnAnswer(SslProtocols protocols, string expected)
    {
        await using BatonFront front = await BatonFront.StartAsync();
        using HttpClient client = Clients.CreateHttpClient(protocols);
        string first = await client.GetStringAsync($"https://localhost:{front.Port}/one");
        string second = await client.GetStringAsync($"https://localhost:{front.Port}/two");
        Assert.StartsWith(expected, Clients.FactsField(first, "tls"));
        Assert.Equal(Clients.WorkerPid(first), Clients.WorkerPid(second));
    }

    [Fact]
    public async Task PythonSslGetsAnAnswer()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        string response = await Clients.PythonRequestAsync(front.Port);
        Assert.Contains("HTTP/1.1 200 OK", response);
        Assert.Contains("pool: default", response);
    }
}
