using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Running out of descriptors degrades service instead of ending it: a front under a low RLIMIT_NOFILE flooded
/// with idle connections, and a worker whose descriptor table is full.
/// </summary>
public sealed class DescriptorLimitTests
{
    [Fact]
    public async Task AFrontAtALowLimitCutsAFloodOfIdleConnectionsAndServesANormalClient()
    {
        // ulimit -n 256 and 400 idle connections re-opened as they close used to abort the front (EMFILE inside the
        // runtime, "Out of memory.") in handoff mode. A short ClientHelloTimeout keeps the first generation brief.
        await using BatonFront front = await BatonFront.StartAsync(
            ["--mode", "handoff"], new Dictionary<string, string> { ["Baton__Limits__ClientHelloTimeout"] = "00:00:02" }, descriptorLimit: 256);
        string capLine = await front.WaitForOutputAsync("front connection cap:");
        Assert.Contains("descriptor limit 256", capLine);
        int idleDescriptors = ProcFs.OpenFdCount(front.Pid);

        await using (IdleFlood flood = IdleFlood.Start(front.Port, 400))
        {
            await front.WaitForOutputAsync("front under connection pressure");
            string page = await Clients.CurlAsync(front.Port, extra: ["--max-time", "20"]);
            Assert.Contains("Hello from Baton", page);
            Assert.True(flood.Cut > 0, "the front cut idle connections");
        }

        Assert.False(front.HasExited, $"the front exited:\n{front.Output}");
        // The client sees the cut before the front's log line is written: wait for it.
        await front.WaitForOutputAsync("reason=client_hello_timeout");
        await front.WaitForOutputAsync("front connection pressure over");
        // Every cut connection's descriptor was closed: the front is back to what it held before the flood (give or take an
        // assembly first loaded meanwhile, two descriptors each; the flood held hundreds).
        await Wait.UntilAsync(() => ProcFs.OpenFdCount(front.Pid) <= idleDescriptors + 8, "the front's descriptors are back to idle");
        Assert.DoesNotContain("worker exited", front.Output);
    }

    [Fact]
    public async Task AWorkerOutOfDescriptorsRefusesAndTheFrontGivesTheConnectionToAnother()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        // Two connections at once go one to each worker: both have served a request before the limit is lowered.
        int[] pair = await ServingPidsOfTwoConnectionsAsync(front.Port);
        Assert.Equal(front.InitialWorkers["default"].Order(), pair.Order());
        int victim = pair[0], other = pair[1];

        // As if something else in the worker had taken its descriptors: only a few are left for connections.
        int before = ProcFs.OpenFdCount(victim);
        string originalSoft = SoftDescriptorLimit(victim);
        await SetSoftDescriptorLimitAsync(victim, (before + 4).ToString(CultureInfo.InvariantCulture));
        string refusal = $"worker pid={victim}: refusing connections";
        var connections = new List<TlsConnection>();
        var servedBy = new List<int>();
        try
        {
            // Until it refuses one (the kernel could not give it the descriptor); then its limit goes back at once: a
            // process with no descriptor to spare is one any runtime open can break, which is not what is tested here.
            try
            {
                while (!front.Output.Contains(refusal, StringComparison.Ordinal))
                {
                    Assert.True(connections.Count < 20, $"the worker never refused a connection:\n{front.Output}");
                    TlsConnection connection = await TlsConnection.OpenAsync(front.Port);
                    connections.Add(connection);
                    servedBy.Add(Clients.WorkerPid(await connection.GetAsync()));
                }
            }
            finally
            {
                await SetSoftDescriptorLimitAsync(victim, originalSoft);
            }
            Assert.True(ProcFs.IsAlive(victim), $"the worker at its limit exited:\n{front.Output}");
            Assert.Contains("the kernel could not give it connection", await front.WaitForOutputAsync(refusal));
            // The refused connection was served all the same, by the other worker.
            Assert.Equal(other, servedBy[^1]);

            // With room again, the worker says so and the front sends it connections again.
            await front.WaitForOutputAsync($"worker pid={victim}: taking connections again");
        }
        finally
        {
            foreach (TlsConnection connection in connections)
                await connection.DisposeAsync();
        }
        // Give or take an assembly Kestrel loaded meanwhile (two descriptors each).
        await Wait.UntilAsync(() => ProcFs.OpenFdCount(victim) <= before + 4, "the worker's descriptors are back to what it held before");
        // The front sends it connections again (held ones go to the least busy worker; Closed messages may still be on their way).
        Assert.True(await AHeldConnectionIsServedByAsync(front.Port, victim, 25), $"the worker got no connection after it took them again:\n{front.Output}");
        Assert.DoesNotContain("worker exited", front.Output);
    }

    [Fact]
    public async Task AFrontWhoseLimitLeavesNoRoomForConnectionsRefusesToStart()
    {
        int idle;
        await using (BatonFront probe = await BatonFront.StartAsync(["--workers", "1"]))
            idle = ProcFs.OpenFdCount(probe.Pid);
        int limit = idle + DescriptorLimit.RuntimeReserve / 2;

        ProcessResult result = await ChildProcess.RunAsync("/bin/sh",
            ["-c", $"ulimit -n {limit} && exec \"$0\" \"$@\"", BatonFront.Executable, "serve", "--listen", "127.0.0.1:0", "--workers", "1"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"baton: the descriptor limit {limit} leaves no room for connections", result.StandardError);
        Assert.DoesNotContain("worker started", result.Output);
    }

    [Fact]
    public async Task AWorkerWhoseLimitLeavesNoRoomForConnectionsExitsAtStartAndIsRestarted()
    {
        // Enough descriptors for the runtime to start a worker, not enough to keep its reserve free as well.
        int idle;
        await using (BatonFront probe = await BatonFront.StartAsync(["--workers", "1"]))
            idle = ProcFs.OpenFdCount(probe.AllInitialWorkerPids.Single());
        int limit = idle + DescriptorLimit.RuntimeReserve / 2;
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new
                    {
                        Workers = 1,
                        Command = "/bin/sh",
                        Arguments = new[] { "-c", $"ulimit -n {limit} && exec \"$0\" worker", BatonFront.Executable },
                    },
                },
                Limits = new { WorkerStartTimeout = "00:00:05" },
            },
        }));
        try
        {
            ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", config]);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains($"the descriptor limit {limit} leaves no room for connections", result.Output);
            Assert.Matches(@"worker exited: pool=default pid=\d+ \(exit code 1\); restarting", result.Output);
            Assert.True(Regex.Matches(result.Output, "worker started: pool=default").Count >= 2, $"the worker was not restarted:\n{result.Output}");
            Assert.DoesNotContain("worker ready", result.Output);
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static async Task<int[]> ServingPidsOfTwoConnectionsAsync(int port)
    {
        await using TlsConnection first = await TlsConnection.OpenAsync(port);
        int firstPid = Clients.WorkerPid(await first.GetAsync());
        await using TlsConnection second = await TlsConnection.OpenAsync(port);
        return [firstPid, Clients.WorkerPid(await second.GetAsync())];
    }

    /// <summary>Opens and holds connections, at most <paramref name="most"/>, until one is served by <paramref name="pid"/>.</summary>
    private static async Task<bool> AHeldConnectionIsServedByAsync(int port, int pid, int most)
    {
        var held = new List<TlsConnection>();
        try
        {
            while (held.Count < most)
            {
                TlsConnection connection = await TlsConnection.OpenAsync(port);
                held.Add(connection);
                if (Clients.WorkerPid(await connection.GetAsync()) == pid)
                    return true;
            }
            return false;
        }
        finally
        {
            foreach (TlsConnection connection in held)
                await connection.DisposeAsync();
        }
    }

    private static string SoftDescriptorLimit(int pid) =>
        File.ReadAllLines($"/proc/{pid}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];

    /// <summary>prlimit(1) from util-linux on a running process; the hard limit stays.</summary>
    private static async Task SetSoftDescriptorLimitAsync(int pid, string soft)
    {
        ProcessResult result = await ChildProcess.RunAsync("prlimit", ["--pid", pid.ToString(CultureInfo.InvariantCulture), $"--nofile={soft}:"]);
        Assert.True(result.ExitCode == 0, $"prlimit failed: {result}");
        Assert.Equal(soft, SoftDescriptorLimit(pid));
    }
}
