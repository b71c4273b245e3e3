using Baton.Tests.Infrastructure;
using static Baton.Tests.Infrastructure.SocketActivation;
using static Baton.Tests.Infrastructure.ProcNet;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// systemd socket activation without systemd: python3 hands a real `baton serve` a socket at fd 3 with LISTEN_FDS,
/// LISTEN_FDNAMES and LISTEN_PID set as systemd sets them (<see cref="SocketActivation"/>).
/// </summary>
public sealed class SocketActivationTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task TheFrontServesOnTheSocketItWasGivenAndBindsNothing()
    {
        // --listen names a port the test holds: a front that bound instead of using its socket would fail to start.
        using var held = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        held.Start();
        string occupied = held.LocalEndpoint.ToString()!;
        await using BatonFront front = await BatonFront.StartAsync(["--listen", occupied, "--workers", "1"], launcher: Launcher());
        (int port, long inode) = Given(front.Output);

        Assert.Equal(port, front.Port);
        await front.WaitForOutputAsync($"listening on 127.0.0.1:{port} (listener default, PROXY protocol False; socket from systemd)");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(port), "pool"));
        Assert.Contains(inode, SocketInodes(front.Pid));
        Assert.Equal(inode, ListeningInode(port));
        foreach (int worker in front.AllInitialWorkerPids)
        {
            // Close-on-exec and the variables gone: a worker neither holds the listening socket nor reads the announcement.
            Assert.DoesNotContain(inode, SocketInodes(worker));
            Assert.DoesNotContain("LISTEN_", ProcFs.Environment(worker));
        }
    }

    [Fact]
    public async Task AnAnnouncementForAnotherProcessIsIgnored()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"], launcher: Launcher(forThisProcess: false));
        (int given, _) = Given(front.Output);

        Assert.NotEqual(given, front.Port);
        await front.WaitForOutputAsync($"listening on 127.0.0.1:{front.Port} (listener default, PROXY protocol False)");
        Assert.DoesNotContain("socket from", front.Output);
    }

    [Theory]
    [InlineData(Kind.Listening, "nosuch", "1", "127.0.0.1:0",
        "baton: listening sockets from systemd: 'nosuch' is not the name of a listener (listeners: default); name each socket after its listener")]
    [InlineData(Kind.Listening, "-", "1", "127.0.0.1:0", "baton: listening sockets from systemd: LISTEN_FDS=1 but LISTEN_FDNAMES names none of them")]
    [InlineData(Kind.Listening, "default", "2", "127.0.0.1:0", "baton: listening sockets from systemd: LISTEN_FDS=2 but LISTEN_FDNAMES names 1 of them")]
    [InlineData(Kind.Listening, "default", "x", "127.0.0.1:0", "baton: listening sockets from systemd: LISTEN_FDS='x' is not a number of descriptors from 1 to 256")]
    [InlineData(Kind.Listening, "default", "100000", "127.0.0.1:0", "baton: listening sockets from systemd: LISTEN_FDS='100000' is not a number")]
    [InlineData(Kind.NotListening, "default", "1", "127.0.0.1:0", "baton: listening sockets from systemd: descriptor 3 (LISTEN_FDNAMES 'default') is not listening")]
    [InlineData(Kind.UnixListening, "default", "1", "127.0.0.1:0",
        "baton: listening sockets from systemd: descriptor 3 (LISTEN_FDNAMES 'default') is not an IPv4 or IPv6 socket (address family 1)")]
    [InlineData(Kind.Listening, "default", "1", "[::1]:0",
        "baton: listening sockets from systemd: the socket named 'default' is InterNetwork (127.0.0.1:")]
    public async Task ASocketThatIsNotAListenersIsRefusedInOneLine(Kind kind, string names, string count, string listen, string expected)
    {
        IReadOnlyList<string> launcher = Launcher(kind, names, count);
        ProcessResult result = await ChildProcess.RunAsync(launcher[0], [.. launcher.Skip(1), BatonFront.Executable, "serve", "--listen", listen], timeout: Prompt);

        Assert.True(result.ExitCode == 1, $"expected exit 1: {result}");
        string[] errors = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(errors.Length == 1, $"expected one line on stderr: {result}");
        Assert.StartsWith(expected, errors[0]);
        Assert.DoesNotContain("worker started", result.Output);
    }
}
