using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Rolling deploys (issue 13): `baton restart POOL` and reloads that change what a pool's workers run start a new
/// generation of workers; kept-alive HTTP/1.1 connections move to it at their next request (same client port, no
/// failure), and a generation that cannot start is rolled back. Real front, real workers, python3's http.client.
/// </summary>
public sealed partial class DeployTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    /// <summary>ShutdownTimeout far past <see cref="Generous"/>: a worker that exits within a test's wait was emptied by the drain.</summary>
    private static readonly Dictionary<string, string> LongDrain = new() { ["Baton__Limits__ShutdownTimeout"] = "00:05:00" };

    /// <summary>
    /// argv: port, connections. Each thread keeps one HTTP/1.1 connection and sends requests on it until stdin has a line;
    /// it never reconnects (auto_open off) and checks its local port each time; a line whenever the answering pid changes.
    /// </summary>
    private const string KeepAliveClient = """
        import http.client, re, ssl, sys, threading
        port, n = int(sys.argv[1]), int(sys.argv[2])
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        stop = threading.Event(); lock = threading.Lock(); failures = []
        def say(text):
            with lock: print(text, flush=True)
        def run(i):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            c.connect(); c.auto_open = 0
            local = c.sock.getsockname()[1]; last = None; count = 0
            try:
                while not stop.is_set():
                    c.request("GET", "/?c=%d" % i)
                    r = c.getresponse(); body = r.read()
                    if r.status != 200: raise Exception("HTTP %d" % r.status)
                    if r.will_close or c.sock is None or c.sock.getsockname()[1] != local: raise Exception("the connection did not stay")
                    count += 1
                    pid = int(re.search(rb"worker pid: (\d+)", body).group(1))
                    if pid != last:
                        say("conn %d port %d pid %d" % (i, local, pid)); last = pid
            except Exception as e:
                with lock: failures.append(i)
                say("failure conn %d port %d after %d requests: %r" % (i, local, count, e))
            say("done conn %d port %d requests %d" % (i, local, count))
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads: t.start()
        sys.stdin.readline(); stop.set()
        for t in threads: t.join()
        sys.exit(1 if failures else 0)
        """;

    [Fact]
    public async Task BatonRestartMovesKeptAliveConnectionsToTheNewGenerationWithoutAFailure()
    {
        const int connections = 50;
        await using BatonFront front = await BatonFront.StartAsync(["--mode", "handoff", "--workers", "1"], LongDrain);
        int first = front.AllInitialWorkerPids.Single();
        await using ChildProcess client = ChildProcess.Start("python3", ["-c", KeepAliveClient, front.Port.ToString(), connections.ToString()]);
        await using RequestLoad load = RequestLoad.Start(front.Port, keepAliveLoops: 1, newConnectionLoops: 1);
        await WaitForEveryConnectionAsync(client, first, connections);
        await load.WaitForSuccessesAsync(10);

        int second = await RestartAsync(front);
        await WaitForEveryConnectionAsync(client, second, connections);
        int third = await RestartAsync(front);
        await WaitForEveryConnectionAsync(client, third, connections);

        // The replaced generations drained and exited; every connection kept its port and never failed.
        await Wait.UntilAsync(() => !ProcFs.IsAlive(first) && !ProcFs.IsAlive(second), "the old generations have exited", Generous);
        await client.WriteAsync("stop\n");
        Assert.True(await client.WaitForExitAsync(Generous) == 0, client.Output);
        Dictionary<int, HashSet<int>> ports = PortsByConnection(client.StandardOutput);
        Assert.Equal(connections, ports.Count);
        Assert.All(ports.Values, set => Assert.Single(set));
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0, string.Join('\n', load.Failures));
        Assert.Contains(third, load.ServedBy.Keys);
        Assert.False(front.HasExited);
    }

    /// <summary>Passthrough connections cannot move (OpenSSL's session is in the worker): they end at a request boundary with Connection: close, and no request fails.</summary>
    [Fact]
    public async Task BatonRestartOfAPassthroughPoolClosesConnectionsAtARequestBoundaryWithoutAFailure()
    {
        // A drain deadline past the waits below: the old worker exits because its connections ended, not at the deadline.
        await using BatonFront front = await BatonFront.StartAsync(["--mode", "passthrough", "--workers", "1"], LongDrain);
        int first = front.AllInitialWorkerPids.Single();
        await using RequestLoad load = RequestLoad.Start(front.Port, keepAliveLoops: 4, newConnectionLoops: 1);
        await load.WaitForSuccessesAsync(20);

        int second = await RestartAsync(front);
        await Wait.UntilAsync(() => !ProcFs.IsAlive(first), "generation 1's worker has exited", Generous);
        await Wait.UntilAsync(() => load.ServedBy.GetValueOrDefault(second) > 20 || load.Failures.Count > 0, "generation 2 serves the load", Generous);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0, string.Join('\n', load.Failures));
        Assert.Equal(new[] { first, second }.ToHashSet(), load.ServedBy.Keys.ToHashSet());
    }

    /// <summary>An h2 connection cannot move (its streams are multiplexed): the old worker sends GOAWAY, its streams finish, and the client's next requests open a connection to the new generation.</summary>
    [Fact]
    public async Task BatonRestartEndsHttp2ConnectionsWithGoAwayWithoutAFailedRequest()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--mode", "handoff", "--workers", "1"], LongDrain);
        int first = front.AllInitialWorkerPids.Single();
        using HttpClient client = Clients.CreateHttpClient();
        client.DefaultRequestVersion = System.Net.HttpVersion.Version20;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var stop = new CancellationTokenSource();
        var answeredBy = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        async Task LoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using HttpResponseMessage response = await client.GetAsync($"https://localhost:{front.Port}/", stop.Token);
                    string body = await response.Content.ReadAsStringAsync(stop.Token);
                    if (response.StatusCode != System.Net.HttpStatusCode.OK || response.Version != System.Net.HttpVersion.Version20)
                        failures.Enqueue($"HTTP/{response.Version} {(int)response.StatusCode}");
                    else
                        answeredBy.AddOrUpdate(Clients.WorkerPid(body), 1, (_, n) => n + 1);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }
            }
        }
        Task[] loops = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(LoopAsync))];
        await Wait.UntilAsync(() => answeredBy.GetValueOrDefault(first) > 20 || !failures.IsEmpty, "generation 1 answers over h2", Generous);

        int second = await RestartAsync(front);
        await Wait.UntilAsync(() => answeredBy.GetValueOrDefault(second) > 20, "generation 2 answers over h2", Generous);
        // GOAWAY, not the drain deadline (LongDrain), ended the old connection.
        await Wait.UntilAsync(() => !ProcFs.IsAlive(first), "generation 1's worker has exited", Generous);
        stop.Cancel();
        await Task.WhenAll(loops);
        Assert.True(failures.IsEmpty, $"{failures.Count} failed of {answeredBy.Values.Sum() + failures.Count}: " + string.Join("\n", failures));
    }

    [Fact]
    public async Task BatonRestartOfAPoolThatDoesNotExistIsRefused()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"]);
        ProcessResult refused = await front.ControlAsync("restart", "nosuchpool");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("no pool named 'nosuchpool'", refused.StandardError);
        Assert.Equal(front.AllInitialWorkerPids.ToHashSet(), front.CurrentWorkers());
    }

    [Fact]
    public async Task AReloadThatChangesAPoolsWorkersDeploysANewGenerationAndOneThatCannotStartIsRolledBack()
    {
        static Dictionary<string, object> Pool(object pool) => new() { ["Pools"] = new Dictionary<string, object> { ["default"] = pool } };
        using ReloadSite site = ReloadSite.Create(Pool(new { Workers = 1, Mode = "handoff" }));
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);
        int first = front.AllInitialWorkerPids.Single();

        // A command that exits at once: generation 2 never becomes ready, generation 1 serves on and status says why.
        site.WriteConfig(Pool(new { Workers = 1, Mode = "handoff", Command = "/bin/sh", Arguments = new[] { "-c", "exit 3" } }));
        ProcessResult failed = await front.ControlAsync("reload");
        Assert.True(failed.ExitCode == 1, failed.ToString());
        Assert.Contains("Baton:Pools:default: generation 2 did not become ready: ", failed.StandardError);
        Assert.Contains("generation 1 serves on", failed.StandardError);
        await front.WaitForOutputAsync("deploy failed: pool=default generation 2");
        JsonNode pool = (await StatusAsync(front))["pools"]![0]!;
        Assert.Equal(1, (int)pool["generation"]!);
        Assert.False((bool)pool["lastDeploy"]!["succeeded"]!);
        // The shell may exit before or while it is sent its settings: either is the reason given.
        string failure = (string)pool["lastDeploy"]!["failure"]!;
        Assert.True(failure.Contains("exited before the generation was ready", StringComparison.Ordinal)
            || failure.StartsWith("a worker could not start: ", StringComparison.Ordinal), failure);
        Assert.Equal(first, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));

        // Two workers instead of one: generation 2 (the failed one left nothing behind) with two new pids, the old one exits.
        site.WriteConfig(Pool(new { Workers = 2, Mode = "handoff" }));
        ProcessResult deployed = await front.ControlAsync("reload");
        Assert.True(deployed.ExitCode == 0, deployed.ToString());
        Assert.Contains("note: Baton:Pools:default: generation 2 deployed; generation 1 drains", deployed.StandardOutput);
        pool = (await StatusAsync(front))["pools"]![0]!;
        Assert.Equal(2, (int)pool["generation"]!);
        int[] serving = [.. pool["running"]!.AsArray().Select(w => (int)w!["pid"]!)];
        Assert.Equal(2, serving.Length);
        Assert.DoesNotContain(first, serving);
        await Wait.UntilAsync(() => !ProcFs.IsAlive(first), "generation 1's worker has exited", Generous);
        Assert.Contains(Clients.WorkerPid(await Clients.CurlAsync(front.Port)), serving);
    }

    /// <summary>argv: port. One connection: a request, then (after a line on stdin) the same request again; prints pool and port each time.</summary>
    private const string TwoRequestsClient = """
        import http.client, re, ssl, sys
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=60)
        c.connect(); c.auto_open = 0
        for n in (1, 2):
            if n == 2: sys.stdin.readline()
            c.request("GET", "/api/x"); r = c.getresponse(); body = r.read()
            pool = re.search(rb"pool: (\S+)", body).group(1).decode()
            print("answer %d status %d pool %s port %d" % (n, r.status, pool, c.sock.getsockname()[1]), flush=True)
        """;

    /// <summary>The routes a running handoff worker holds follow a reload (Routes message): the next request goes by them.</summary>
    [Fact]
    public async Task ARouteAddedByAReloadMovesTheNextRequestOfAConnectionAlreadyOpen()
    {
        static Dictionary<string, object> Config(bool route)
        {
            var baton = new Dictionary<string, object>
            {
                ["Pools"] = new Dictionary<string, object> { ["default"] = new { Workers = 1, Mode = "handoff" }, ["api"] = new { Workers = 1, Mode = "handoff" } },
            };
            if (route)
                baton["Routes"] = new[] { new { PathPrefix = "/api/", Pool = "api" } };
            return baton;
        }
        using ReloadSite site = ReloadSite.Create(Config(route: false));
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);
        await using ChildProcess client = ChildProcess.Start("python3", ["-c", TwoRequestsClient, front.Port.ToString()]);
        string first = await client.WaitForLineAsync(l => l.StartsWith("answer 1", StringComparison.Ordinal), "the first answer", Generous);
        Assert.Contains("status 200 pool default", first);

        site.WriteConfig(Config(route: true));
        ProcessResult reload = await front.ControlAsync("reload");
        Assert.True(reload.ExitCode == 0, reload.ToString());
        await client.WriteAsync("next\n");
        Assert.True(await client.WaitForExitAsync(Generous) == 0, client.Output);
        string second = client.StandardOutput.Split('\n').Single(l => l.StartsWith("answer 2", StringComparison.Ordinal));
        Assert.Contains("status 200 pool api", second);
        Assert.Equal(first[first.IndexOf(" port ", StringComparison.Ordinal)..], second[second.IndexOf(" port ", StringComparison.Ordinal)..]);
    }

    private static async Task<JsonNode> StatusAsync(BatonFront front)
    {
        ProcessResult result = await front.ControlAsync("status", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonNode.Parse(result.StandardOutput)!;
    }

    /// <summary>Restarts pool default and returns the new generation's one worker pid, as the command printed it.</summary>
    private static async Task<int> RestartAsync(BatonFront front)
    {
        ProcessResult restarted = await front.ControlAsync("restart", "default");
        Assert.True(restarted.ExitCode == 0, $"{restarted}\nbaton:\n{front.Output}");
        Match match = RestartedPids().Match(restarted.StandardOutput);
        Assert.True(match.Success, restarted.ToString());
        return int.Parse(match.Groups[1].Value);
    }

    private static async Task WaitForEveryConnectionAsync(ChildProcess client, int pid, int connections)
    {
        await Wait.UntilAsync(
            () => client.Output.Contains("failure", StringComparison.Ordinal) || Answered(client.StandardOutput, pid).Count == connections,
            $"every connection has been answered by pid {pid}", Generous);
        Assert.False(client.Output.Contains("failure", StringComparison.Ordinal), client.Output);
    }

    private static HashSet<int> Answered(string output, int pid) =>
        [.. ConnectionLine().Matches(output).Where(m => int.Parse(m.Groups[3].Value) == pid).Select(m => int.Parse(m.Groups[1].Value))];

    private static Dictionary<int, HashSet<int>> PortsByConnection(string output) =>
        ConnectionLine().Matches(output).GroupBy(m => int.Parse(m.Groups[1].Value))
            .ToDictionary(g => g.Key, g => g.Select(m => int.Parse(m.Groups[2].Value)).ToHashSet());

    [GeneratedRegex(@"conn (\d+) port (\d+) pid (\d+)")]
    private static partial Regex ConnectionLine();

    [GeneratedRegex(@"serves \(pids (\d+)\)")]
    private static partial Regex RestartedPids();
}
