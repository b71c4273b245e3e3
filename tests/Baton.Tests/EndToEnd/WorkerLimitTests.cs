using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Baton.Tests.Infrastructure;
using Baton.Tests.Supervisor;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// A connection no worker can take is answered, not dropped: over the session the front terminated (handoff) with a
/// 503 and Retry-After in HTTP/1.1 or HTTP/2, before any handshake (passthrough) with a TLS alert; at once when every
/// worker is at MaxConnectionsPerWorker, after DispatchTimeout when none could take it.
/// </summary>
public sealed class WorkerLimitTests
{
    /// <summary>Far above how long an immediate answer may take on a loaded machine: an answer after it waited for the timeout would fail.</summary>
    private static readonly Dictionary<string, string> OneConnectionPerWorker = new()
    {
        ["Baton__Pools__default__MaxConnectionsPerWorker"] = "1",
        ["Baton__Limits__DispatchTimeout"] = "00:00:30",
    };

    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task InHandoffModeAConnectionOverTheLimitIsAnswered503WithRetryAfterAtOnceInHttp11AndHttp2()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--mode", "handoff", "--workers", "1"], OneConnectionPerWorker);
        // A keep-alive connection the only worker serves: it is at its limit.
        await using TlsConnection held = await TlsConnection.OpenAsync(front.Port);
        await held.GetAsync();

        var elapsed = Stopwatch.StartNew();
        foreach (string protocol in new[] { "--http1.1", "--http2" })
        {
            ProcessResult curl = await ChildProcess.RunAsync("curl",
                ["-sS", "-k", "-i", protocol, "--max-time", "30", "--resolve", $"localhost:{front.Port}:127.0.0.1", $"https://localhost:{front.Port}/"]);
            Assert.True(curl.ExitCode == 0, curl.ToString());
            Assert.Matches(protocol == "--http2" ? "^HTTP/2 503" : "^HTTP/1.1 503 Service Unavailable", curl.StandardOutput);
            Assert.Contains("retry-after: 1\r\n", curl.StandardOutput, StringComparison.OrdinalIgnoreCase);
        }
        using HttpClient client = Clients.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{front.Port}/")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using HttpResponseMessage response = await client.SendAsync(request);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, HttpVersion.Version20), (response.StatusCode, response.Version));
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, AtOnce);

        await front.WaitForOutputAsync("reason=no_worker: every worker of pool default is at MaxConnectionsPerWorker; answered 503");
        // The held connection is still the worker's.
        Assert.Equal(front.InitialWorkers["default"].Single(), Clients.WorkerPid(await held.GetAsync("/again")));
    }

    [Fact]
    public async Task InPassthroughModeAConnectionOverTheLimitGetsAnInternalErrorAlertAtOnce()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"], OneConnectionPerWorker);
        await using TlsConnection held = await TlsConnection.OpenAsync(front.Port);
        await held.GetAsync();

        var elapsed = Stopwatch.StartNew();
        ProcessResult refused = await ChildProcess.RunAsync("openssl",
            ["s_client", "-connect", $"127.0.0.1:{front.Port}", "-servername", "localhost"], input: "");

        Assert.Contains("alert internal error", refused.Output);
        Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, AtOnce);
        await front.WaitForOutputAsync("reason=no_worker: every worker of pool default is at MaxConnectionsPerWorker; answered an internal_error alert");
    }

    [Fact]
    public async Task InHandoffModeAConnectionNoWorkerTakesWithinTheDispatchTimeoutIsAnswered503()
    {
        // Every worker dies on the connection it receives, before acknowledging it: each death hands it to the next
        // one the pool restarts, until the dispatch timeout leaves the front to answer it.
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1, Mode = "handoff", Command = TestWorkerProgram.Path, Arguments = new[] { "die" } },
                },
                Limits = new { DispatchTimeout = "00:00:01" },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            var elapsed = Stopwatch.StartNew();
            ProcessResult curl = await ChildProcess.RunAsync("curl",
                ["-sS", "-k", "-i", "--http1.1", "--max-time", "30", "--resolve", $"localhost:{front.Port}:127.0.0.1", $"https://localhost:{front.Port}/"]);

            Assert.True(curl.ExitCode == 0, curl.ToString());
            Assert.StartsWith("HTTP/1.1 503 Service Unavailable", curl.StandardOutput);
            Assert.InRange(elapsed.Elapsed, TimeSpan.FromSeconds(1) - TimeSpan.FromMilliseconds(25), TimeSpan.FromSeconds(30));
            await front.WaitForOutputAsync("reason=no_worker: no worker of pool default took it within 00:00:01; answered 503");
            await front.WaitForOutputAsync($"(exit code {TestWorkerProgram.DiedOnConnection})");
        }
        finally
        {
            File.Delete(config);
        }
    }
}
