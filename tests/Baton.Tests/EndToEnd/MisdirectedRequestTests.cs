using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>HTTP/2 cannot be handed back per request: a request for a host another pool serves gets 421 from the worker.</summary>
public sealed class MisdirectedRequestTests
{
    [Fact]
    public async Task AnH2RequestForAnotherPoolsHostIsAnswered421AndANewConnectionReachesThatPool()
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-421-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1, Mode = "handoff" },
                    ["a"] = new { Workers = 1, Mode = "handoff" },
                    ["b"] = new { Workers = 1, Mode = "handoff" },
                },
                Routes = new object[]
                {
                    new { ServerNames = new[] { "a.example" }, Pool = "a" },
                    new { ServerNames = new[] { "b.example" }, Pool = "b" },
                },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            // The connection's SNI is a.example; the request's :authority b.example, as a coalescing browser sends it.
            ProcessResult misdirected = await ChildProcess.RunAsync("curl",
            [
                "-sS", "-k", "--http2", "--max-time", "30", "--resolve", $"a.example:{front.Port}:127.0.0.1",
                "-H", "Host: b.example", "-w", "\nstatus=%{http_code} version=%{http_version}\n", $"https://a.example:{front.Port}/",
            ]);
            Assert.Contains("status=421 version=2", misdirected.StandardOutput);
            Assert.Contains("421 Misdirected Request", misdirected.StandardOutput);

            string own = await Clients.CurlAsync(front.Port, "a.example", "/", "--http2");
            Assert.Equal(("a", "h2"), (Clients.FactsField(own, "pool"), Clients.FactsField(own, "alpn")));
            string retried = await Clients.CurlAsync(front.Port, "b.example", "/", "--http2");
            Assert.Equal("b", Clients.FactsField(retried, "pool"));
        }
        finally
        {
            File.Delete(config);
        }
    }
}
