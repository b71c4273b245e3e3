using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// A PathPrefix route decides on the path the worker's application serves (issue 11): curl --path-as-is sends
/// each target exactly as written to a real front, and the built-in worker's page says which pool served it,
/// the request line as it arrived (the front forwards the bytes unchanged) and the path Kestrel decoded.
/// </summary>
public sealed class PathRoutingTests
{
    [Fact]
    public async Task ThePoolIsTheOneForThePathTheApplicationServes()
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1, Mode = "handoff" },
                    ["api"] = new { Workers = 1, Mode = "handoff" },
                },
                Routes = new[] { new { PathPrefix = "/api/", Pool = "api" } },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            (string Target, string Pool, string Path)[] table =
            [
                ("/api/../other", "default", "/other"),
                ("/%61pi/x", "api", "/api/x"),
                ("/API/x", "api", "/API/x"),
                ("/%2e%2e/api/x", "api", "/api/x"),
                ("/api/%2E%2E/other", "default", "/other"),
                ("/api%2Fx", "default", "/api%2Fx"),
                ("//api/x", "default", "//api/x"),
                ("/api/x?q=/../../other", "api", "/api/x"),
            ];
            foreach ((string target, string pool, string path) in table)
            {
                string page = await Clients.CurlAsync(front.Port, "localhost", target, "--path-as-is");
                Assert.Equal((target, pool, path, $"GET {target} HTTP/1.1"),
                    (target, Clients.FactsField(page, "pool"), Clients.FactsField(page, "path"), Clients.FactsField(page, "request")));
            }

            foreach (string refused in (string[])["/api%00/x", "/api/%FF", "/api/%C0%AF"])
            {
                string answer = await Clients.CurlAsync(front.Port, "localhost", refused, "--path-as-is", "-w", "status=%{http_code}");
                Assert.Equal((refused, "status=400"), (refused, answer[answer.LastIndexOf("status=", StringComparison.Ordinal)..]));
                Assert.Contains("400 Bad Request", answer);
            }
            string logged = await front.WaitForOutputAsync("request head: BadPath (answered 400)");
            Assert.Contains("reason=request_invalid", logged);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
