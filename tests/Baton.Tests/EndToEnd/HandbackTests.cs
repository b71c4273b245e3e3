using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Per-request routing by handback (issue 13): one kept-alive HTTP/1.1 connection whose requests belong to different
/// pools; each request is answered by its own pool, on the same TCP connection (the client port stays), with bodies,
/// chunked uploads, pipelining and a client KeyUpdate. Real front, real workers, curl, python3 ssl and openssl s_client.
/// </summary>
public sealed partial class HandbackTests : IAsyncLifetime
{
    private string _config = "";
    private BatonFront? _front;

    private BatonFront Front => _front!;

    public async Task InitializeAsync()
    {
        _config = Path.Combine(Path.GetTempPath(), $"baton-handback-{Guid.NewGuid():N}.json");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1, Mode = "handoff" },
                    ["api"] = new { Workers = 1, Mode = "handoff" },
                },
                Routes = new object[] { new { PathPrefix = "/api/", Pool = "api" } },
            },
        }));
        _front = await BatonFront.StartAsync(["--config", _config]);
    }

    public async Task DisposeAsync()
    {
        if (_front is not null) await _front.DisposeAsync();
        File.Delete(_config);
    }

    /// <summary>The facts pages in a run of responses, in order.</summary>
    private static List<string> Pages(string output) =>
        [.. output.Split("Hello from Baton.", StringSplitOptions.RemoveEmptyEntries).Where(p => p.Contains("pool:"))];

    [Fact]
    public async Task KeepAliveRequestsAreEachAnsweredByTheirPoolOnOneConnection()
    {
        int port = Front.Port;
        ProcessResult result = await ChildProcess.RunAsync("curl",
        [
            "-sS", "-k", "--http1.1", "--max-time", "60", "--resolve", $"localhost:{port}:127.0.0.1",
            "-w", "\ntransfer: connects=%{num_connects} port=%{local_port}\n",
            $"https://localhost:{port}/api/x", $"https://localhost:{port}/static/y", $"https://localhost:{port}/API/z", $"https://localhost:{port}/",
        ]);
        Assert.True(result.ExitCode == 0, $"curl failed: {result}");
        List<string> pages = Pages(result.StandardOutput);
        Assert.Equal(["api", "default", "api", "default"], pages.Select(p => Clients.FactsField(p, "pool")));
        Assert.Equal(["/api/x", "/static/y", "/API/z", "/"], pages.Select(p => Clients.FactsField(p, "path")));
        // One TCP connection: curl connected once, and every worker saw the same client port.
        var transfers = TransferLine().Matches(result.StandardOutput).Select(m => (Connects: m.Groups[1].Value, Port: m.Groups[2].Value)).ToList();
        Assert.True(transfers.Select(t => t.Connects).SequenceEqual(["1", "0", "0", "0"]), Front.Output);
        Assert.Single(transfers.Select(t => t.Port).Distinct());
        Assert.Single(pages.Select(p => Clients.FactsField(p, "client")).Distinct());
        Assert.EndsWith(":" + transfers[0].Port, Clients.FactsField(pages[0], "client"));
        Assert.Contains(Clients.WorkerPid(pages[0]), Front.InitialWorkers["api"]);
        Assert.Contains(Clients.WorkerPid(pages[1]), Front.InitialWorkers["default"]);
        await Front.WaitForOutputAsync("handed back by pool=api");
    }

    [GeneratedRegex(@"transfer: connects=(\d+) port=(\d+)")]
    private static partial Regex TransferLine();
}
