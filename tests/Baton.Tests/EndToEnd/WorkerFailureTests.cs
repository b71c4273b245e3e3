using System.Diagnostics;
using System.Text.Json;
using Baton.Tests.Infrastructure;
using Baton.Tests.Supervisor;

namespace Baton.Tests.EndToEnd;

/// <summary>Workers that die: restarts, isolation of other workers' connections, and re-dispatch before the Ack.</summary>
public sealed class WorkerFailureTests
{
    [Fact]
    public async Task AKilledWorkerIsRestartedAndOtherWorkersKeepTheirConnections()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        await using TlsConnection connection = await TlsConnection.OpenAsync(front.Port);
        int survivor = Clients.WorkerPid(await connection.GetAsync("/first"));
        int victim = front.InitialWorkers["default"].Single(pid => pid != survivor);

        Interop.Libc.Kill(victim, Interop.Libc.SIGKILL);
        await front.WaitForOutputAsync($"worker exited: pool=default pid={victim}");
        await Wait.UntilAsync(() => front.CurrentWorkers().Count == 2 && !front.CurrentWorkers().Contains(victim), "a new worker replaces the killed one");

        Assert.Equal(survivor, Clients.WorkerPid(await connection.GetAsync("/second")));
        for (int i = 0; i < 10; i++)
            Assert.NotEqual(victim, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
    }

    [Fact]
    public async Task AStoppedWorkerIsKilledAndRestartedAndItsConnectionsAreServedByTheOther()
    {
        await using BatonFront front = await BatonFront.StartAsync(environment: new Dictionary<string, string>
        {
            ["Baton__Limits__WorkerResponseTimeout"] = "00:00:02",
            ["Baton__Limits__DispatchTimeout"] = "00:00:30",
        });
        // The first in the readiness line is the first slot, which a dispatch tries first while both have nothing.
        int stopped = front.InitialWorkers["default"][0];
        Interop.Libc.Kill(stopped, JobSignals.SIGSTOP);
        try
        {
            var elapsed = Stopwatch.StartNew();
            for (int i = 0; i < 3; i++)
                Assert.NotEqual(stopped, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
            // Far below the 30 s a dispatch may wait, and below curl's own 30 s.
            Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));

            await front.WaitForOutputAsync($"worker not answering: pool=default pid={stopped}: ");
            await front.WaitForOutputAsync($"worker exited: pool=default pid={stopped} (signal 9); restarting");
            await Wait.UntilAsync(() => front.CurrentWorkers().Count == 2 && !front.CurrentWorkers().Contains(stopped), "a new worker replaces the stopped one");
        }
        finally
        {
            if (ProcFs.IsAlive(stopped))
                Interop.Libc.Kill(stopped, JobSignals.SIGCONT);
        }
    }

    [Fact]
    public async Task AConnectionWhoseWorkerDiesBeforeAcknowledgingIsServedByAnother()
    {
        // Real workers serving TLS; the one that receives the first connection dies before acknowledging it.
        string marker = TestWorkerProgram.NewMarker();
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 2, Command = TestWorkerProgram.Path, Arguments = new[] { "tls", "--first", marker, "die" } },
                },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            int[] initial = front.InitialWorkers["default"];

            string page = await Clients.CurlAsync(front.Port);

            int dead = initial.Single(pid => !ProcFs.IsAlive(pid));
            Assert.NotEqual(dead, Clients.WorkerPid(page));
            await front.WaitForOutputAsync($"worker exited: pool=default pid={dead} (exit code {TestWorkerProgram.DiedOnConnection})");
        }
        finally
        {
            File.Delete(config);
            File.Delete(marker);
        }
    }

    /// <summary>A real process on the worker end of a channel: it says Ready (in this channel version, VERSION in
    /// <c>second</c>), then sends <c>second</c>.</summary>
    [Theory]
    [InlineData("""b"\x00" * 5""", "ShortMessage")]
    [InlineData("""struct.pack("<IHHQII", 0x4E544142, VERSION, 8, 99, 0, 0)""", "BadConnectionId (Pong 99 while")]
    public async Task AWorkerThatSendsAMalformedMessageIsRestartedAndTheFrontKeepsServing(string second, string error)
    {
        string misbehavingWorker = $"""
            import socket, struct
            channel = socket.socket(fileno=3)
            channel.send(struct.pack("<IHHQII", 0x4E544142, {Baton.Channel.ChannelHeader.Version}, 3, 0, 0, 0))
            channel.send({second.Replace("VERSION", $"{Baton.Channel.ChannelHeader.Version}", StringComparison.Ordinal)})
            channel.recv(1)
            """;
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1 },
                    ["broken"] = new { Workers = 1, Command = "/usr/bin/python3", Arguments = new[] { "-c", misbehavingWorker } },
                },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            await front.WaitForOutputAsync("worker channel closed: pool=broken");
            await front.WaitForOutputAsync(error);
            await Wait.UntilAsync(() => front.CountOutput("worker started: pool=broken") >= 2, "the broken worker is restarted");
            Assert.Equal(front.InitialWorkers["default"].Single(), Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task AFrontWhoseWorkersNeverBecomeReadyExitsWithOneLine()
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = 1, Command = "/bin/false" } },
                Limits = new { WorkerStartTimeout = "00:00:02" },
            },
        }));
        try
        {
            ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", config]);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("baton: the workers of pool 'default' did not all report ready within 00:00:02", result.StandardError);
            // /bin/false dies either before the front's first message (EPIPE: "could not start") or after it ("exited").
            Assert.Matches("worker (exited|could not start): pool=default", result.StandardOutput);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
