using System.Diagnostics;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;
using Xunit.Abstractions;
using static Baton.Tests.Infrastructure.ProcNet;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Binary upgrade (SIGUSR2) of a real `baton serve` under load: the new front takes the same listening socket, the old
/// one and its workers go, no request fails; a new front that cannot start leaves the old one serving.
/// </summary>
public sealed partial class BinaryUpgradeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("passthrough")]
    [InlineData("handoff")]
    public async Task AnUpgradeUnderLoadFailsNoRequestAndKeepsTheListeningSocket(string mode)
    {
        using var notify = new NotifySocket(abstractName: true);
        await using BatonFront old = await BatonFront.StartAsync(["--mode", mode], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Address });
        await notify.WaitForAsync("READY=1");
        long inode = ListeningInode(old.Port);
        Assert.Contains(inode, SocketInodes(old.Pid));
        int[] oldWorkers = [.. old.AllInitialWorkerPids];
        int newPid = 0;
        try
        {
            await using RequestLoad load = RequestLoad.Start(old.Port);
            await load.WaitForSuccessesAsync(100);
            long before = load.Succeeded;
            var clock = Stopwatch.StartNew();

            old.Signal(Interop.Libc.SIGUSR2);
            newPid = NewFrontPid(await old.WaitForOutputAsync("upgrade: new front pid=", Generous));
            TimeSpan ready = clock.Elapsed;
            await Wait.UntilAsync(() => !ProcFs.IsAlive(old.Pid) && oldWorkers.All(pid => !ProcFs.IsAlive(pid)), "the old front and its workers have exited", Generous);
            TimeSpan oldGone = clock.Elapsed;
            IReadOnlySet<int> newWorkers = ProcFs.Children(newPid);
            long atSwitch = load.Succeeded;
            await load.WaitForSuccessesAsync(atSwitch + 100);
            await load.StopAsync();

            Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} failed requests:\n{string.Join('\n', load.Failures.Take(20))}");
            Assert.Equal(inode, ListeningInode(old.Port));
            Assert.Contains(inode, SocketInodes(newPid));
            Assert.Equal(2, newWorkers.Count);
            Assert.Contains(load.ServedBy.Keys, newWorkers.Contains);
            foreach (int worker in newWorkers)
            {
                Assert.DoesNotContain(inode, SocketInodes(worker));
                Assert.DoesNotContain("LISTEN_", ProcFs.Environment(worker));
                Assert.DoesNotContain("BATON_UPGRADE_FD", ProcFs.Environment(worker));
            }
            // The old front hands the service over to the new pid and then says nothing (no STOPPING=1: the service goes on).
            await notify.WaitForAsync($"MAINPID={newPid}");
            Assert.DoesNotContain(notify.Messages, m => m.Contains("STOPPING=1", StringComparison.Ordinal));
            output.WriteLine(
                $"{mode}: {before} requests before SIGUSR2, {atSwitch - before} from SIGUSR2 until the old front and its workers were gone, " +
                $"{load.Succeeded} in all, 0 failed; new front ready {ready.TotalSeconds:F2} s after SIGUSR2, old front and workers gone after " +
                $"{oldGone.TotalSeconds:F2} s; longest request {load.Longest.TotalMilliseconds:F0} ms; served by {load.ServedBy.Count} workers");
        }
        finally
        {
            await StopUpgradedFrontAsync(newPid);
        }
    }

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task AConnectionTheOldFrontHoldsIsHandedToItsWorkersNotDropped(string mode)
    {
        // python3 connects and waits on its stdin before sending its ClientHello: the old front holds the connection
        // (waiting for the hello) through the switch, and must still hand it to one of its workers.
        const string script = """
            import socket, ssl, sys
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
            print("connected from %d" % raw.getsockname()[1], flush=True)
            sys.stdin.readline()
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            sys.stdout.write(data.decode())
            """;
        using TempFile config = TempFile.Config(new
        {
            Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } },
            Pools = new { @default = new { Workers = 1, Mode = mode } },
            Limits = new { ClientHelloTimeout = "00:01:00", HandshakeTimeout = "00:01:00" },
        });
        await using BatonFront old = await BatonFront.StartAsync(["--config", config.Path]);
        int oldWorker = old.AllInitialWorkerPids.Single();
        int newPid = 0;
        await using ChildProcess client = ChildProcess.Start("python3", ["-c", script, old.Port.ToString()]);
        try
        {
            string connected = await client.WaitForLineAsync(l => l.StartsWith("connected from ", StringComparison.Ordinal), "python3 has connected");
            int clientPort = int.Parse(connected["connected from ".Length..]);
            await Wait.UntilAsync(() => ConnectionInode(old.Port, clientPort) is long inode && SocketInodes(old.Pid).Contains(inode), "the old front has accepted the connection");

            old.Signal(Interop.Libc.SIGUSR2);
            newPid = NewFrontPid(await old.WaitForOutputAsync("upgrade: new front pid=", Generous));
            await old.WaitForOutputAsync("handing off the 1 connections the front still holds", Generous);
            await client.WriteAsync("go\n");
            int exitCode = await client.WaitForExitAsync(Generous);

            Assert.True(exitCode == 0 && client.StandardOutput.Contains("worker pid:", StringComparison.Ordinal), $"python3: {client.Output}\nbaton:\n{old.Output}");
            Assert.Equal(oldWorker, Clients.WorkerPid(client.StandardOutput));
            await Wait.UntilAsync(() => old.HasExited && !ProcFs.IsAlive(oldWorker), "the old front and its worker have exited", Generous);
        }
        finally
        {
            await StopUpgradedFrontAsync(newPid);
        }
    }

    [Fact]
    public async Task ANewFrontThatCannotStartLeavesTheOldOneServingAndALaterUpgradeWorks()
    {
        object valid = new { Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } }, Pools = new { @default = new { Workers = 1 } } };
        using TempFile config = TempFile.Config(valid);
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);
        long inode = ListeningInode(front.Port);
        int newPid = 0;
        try
        {
            await using RequestLoad load = RequestLoad.Start(front.Port, keepAliveLoops: 2, newConnectionLoops: 1);
            await load.WaitForSuccessesAsync(20);
            File.WriteAllText(config.Path, """{ "Baton": { "Pools": { "default": { "Workerz": 1 } } } }""");

            front.Signal(Interop.Libc.SIGUSR2);
            string failed = await front.WaitForOutputAsync("upgrade failed, this front keeps serving:", Generous);

            Match match = FailedPid().Match(failed);
            Assert.True(match.Success, failed);
            Assert.False(ProcFs.IsAlive(int.Parse(match.Groups[1].Value)));
            // The new front's stderr and the old front's log are separate pipes: wait for the line, their order is not fixed.
            await front.WaitForOutputAsync("baton: invalid configuration: Baton:Pools:default:Workerz", Generous);
            long atFailure = load.Succeeded;
            await load.WaitForSuccessesAsync(atFailure + 20);
            await load.StopAsync();
            Assert.True(load.Failures.Count == 0, string.Join('\n', load.Failures));
            Assert.False(front.HasExited);
            Assert.Equal(inode, ListeningInode(front.Port));
            Assert.Equal(front.AllInitialWorkerPids.ToHashSet(), front.CurrentWorkers());

            // The failed attempt left nothing behind: with the file fixed, the next one goes through.
            File.WriteAllText(config.Path, System.Text.Json.JsonSerializer.Serialize(new { Baton = valid }));
            front.Signal(Interop.Libc.SIGUSR2);
            newPid = NewFrontPid(await front.WaitForOutputAsync("upgrade: new front pid=", Generous));
            await Wait.UntilAsync(() => front.HasExited, "the old front has exited", Generous);
            Assert.Contains(inode, SocketInodes(newPid));
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
        }
        finally
        {
            await StopUpgradedFrontAsync(newPid);
        }
    }

    /// <summary>`baton upgrade` is the same upgrade over the control socket, and the new front answers on the same socket path.</summary>
    [Fact]
    public async Task BatonUpgradeOverTheControlSocketHandsTheSocketPathToTheNewFront()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"]);
        int newPid = 0;
        try
        {
            ProcessResult upgraded = await front.ControlAsync("upgrade");
            Assert.True(upgraded.ExitCode == 0, upgraded.ToString());
            Match match = UpgradedPid().Match(upgraded.StandardOutput);
            Assert.True(match.Success, upgraded.ToString());
            newPid = int.Parse(match.Groups[1].Value);
            await Wait.UntilAsync(() => front.HasExited, "the old front has exited", Generous);

            // The old front's exit left the path alone: it is the new front's socket now.
            ProcessResult status = await front.ControlAsync("status", "--json");
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Equal(newPid, (int)System.Text.Json.Nodes.JsonNode.Parse(status.StandardOutput)!["pid"]!);
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
        }
        finally
        {
            await StopUpgradedFrontAsync(newPid);
        }
    }

    [GeneratedRegex(@"upgraded: front pid (\d+) serves")]
    private static partial Regex UpgradedPid();

    [Fact]
    public async Task ANewFrontThatNeverReportsReadyIsStoppedAtTheDeadlineAndTheOldOneServesOn()
    {
        // The old front's deadline is its WorkerStartTimeout + 30 s. The new front reads the file as it is at SIGUSR2:
        // a worker that never reports ready (and exits when its channel closes), waited for far longer than that.
        object Config(string workerStartTimeout, object pool) => new
        {
            Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } },
            Pools = new { @default = pool },
            Limits = new { WorkerStartTimeout = workerStartTimeout, ShutdownTimeout = "00:00:02" },
        };
        using TempFile config = TempFile.Config(Config("00:00:10", new { Workers = 1 }));
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);
        IReadOnlySet<int> workers = front.CurrentWorkers();
        File.WriteAllText(config.Path, System.Text.Json.JsonSerializer.Serialize(new
        {
            Baton = Config("00:10:00", new { Workers = 1, Command = Supervisor.TestWorkerProgram.Path, Arguments = new[] { "never-ready" } }),
        }));

        front.Signal(Interop.Libc.SIGUSR2);
        int stuck = 0, itsWorker = 0;
        await Wait.UntilAsync(() =>
        {
            stuck = front.CurrentWorkers().Except(workers).FirstOrDefault();
            itsWorker = stuck == 0 ? 0 : ProcFs.Children(stuck).FirstOrDefault();
            return itsWorker != 0;
        }, "the new front has started its worker", Generous);
        string failed = await front.WaitForOutputAsync("upgrade failed, this front keeps serving:", Generous);

        Assert.Contains($"the new front pid={stuck} was not ready within 00:00:40 (", failed);
        Assert.False(ProcFs.IsAlive(stuck));
        // Its never-ready worker goes with it: its channel closed.
        await Wait.UntilAsync(() => !ProcFs.IsAlive(itsWorker), "the new front's worker has exited");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
        Assert.Equal(workers, front.CurrentWorkers());
    }

    [Theory]
    [InlineData("x", "baton: BATON_UPGRADE_FD='x' is not a descriptor number")]
    [InlineData("0", "baton: BATON_UPGRADE_FD='0' is not a descriptor number")]
    [InlineData("77", "baton: BATON_UPGRADE_FD=77 is not the channel of an upgrade: ")]
    public async Task AForgedUpgradeAnnouncementIsRefused(string value, string expected)
    {
        var start = new Dictionary<string, string?> { ["BATON_UPGRADE_FD"] = value };
        await using ChildProcess process = ChildProcess.Start(BatonFront.Executable, ["serve", "--listen", "127.0.0.1:0"], start);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(45));
        var result = new ProcessResult(exitCode, process.StandardOutput, process.StandardError, process.Output);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith(expected, result.StandardError);
        Assert.DoesNotContain("worker started", result.Output);
    }

    [Fact]
    public async Task AChannelNotMadeByTheParentIsRefused()
    {
        // python3 makes the socketpair and execs baton: the pair's creator is baton itself, not its parent (this test).
        const string script = """
            import os, socket, sys
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            os.set_inheritable(b.fileno(), True)
            os.environ["BATON_UPGRADE_FD"] = str(b.fileno())
            os.execv(sys.argv[1], sys.argv[1:])
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script, BatonFront.Executable, "serve", "--listen", "127.0.0.1:0"], timeout: TimeSpan.FromSeconds(45));

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Matches(@"^baton: BATON_UPGRADE_FD=\d+ was made by pid \d+, not by this front's parent \(pid \d+\)", result.StandardError);
    }

    private static int NewFrontPid(string line) => int.Parse(ReadyPid().Match(line).Groups[1].Value);

    /// <summary>The new front outlives the test's child (the old front): stop it and its workers here.</summary>
    private static async Task StopUpgradedFrontAsync(int pid)
    {
        if (pid == 0 || !ProcFs.IsAlive(pid))
            return;
        int[] workers = [.. ProcFs.Children(pid)];
        Interop.Libc.Kill(pid, Interop.Libc.SIGTERM);
        try
        {
            await Wait.UntilAsync(() => !ProcFs.IsAlive(pid) && workers.All(w => !ProcFs.IsAlive(w)), "the new front and its workers have exited", TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (int left in workers.Append(pid).Where(ProcFs.IsAlive))
                Interop.Libc.Kill(left, Interop.Libc.SIGKILL);
        }
    }

    [GeneratedRegex(@"new front pid=(\d+) ready")]
    private static partial Regex ReadyPid();

    [GeneratedRegex(@"the new front pid=(\d+) exited \(exit code 2\)")]
    private static partial Regex FailedPid();
}
