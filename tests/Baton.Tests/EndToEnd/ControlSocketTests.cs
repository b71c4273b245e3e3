using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>The control socket of a real front: `baton status`, who may use it, and what bad requests get.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class ControlSocketTests
{
    [Fact]
    public async Task StatusNamesListenersWorkersAndCertificates()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "2"]);

        ProcessResult text = await front.ControlAsync("status");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"front pid {front.Pid}: serving, generation 1", text.StandardOutput);
        Assert.Contains($"127.0.0.1:{front.Port}", text.StandardOutput);
        foreach (int pid in front.AllInitialWorkerPids)
            Assert.Contains($"pid {pid}  ready", text.StandardOutput);
        Assert.Contains("localhost  serial ", text.StandardOutput);

        ProcessResult json = await front.ControlAsync("status", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        JsonNode status = JsonNode.Parse(json.StandardOutput)!;
        Assert.Equal(front.Pid, (int)status["pid"]!);
        JsonArray workers = status["pools"]![0]!["running"]!.AsArray();
        Assert.Equal(front.InitialWorkers["default"].Order(), workers.Select(w => (int)w!["pid"]!).Order());
        Assert.True((double)status["certificates"]![0]!["expiresInDays"]! > 0);
    }

    [Fact]
    public async Task TheSocketIsTheFrontUsersOnlyAndSoPeerCredRefusesAnotherUser()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(front.ControlSocket));

        // As nobody, the mode alone keeps it out.
        ProcessResult denied = await AsNobodyAsync(front.ControlSocket);
        Assert.Contains("PermissionError", denied.Output);

        // With the mode opened by mistake, SO_PEERCRED still does.
        File.SetUnixFileMode(front.ControlSocket, (UnixFileMode)0b110_110_110);
        ProcessResult refused = await AsNobodyAsync(front.ControlSocket);
        Assert.Contains("\"ok\":false", refused.StandardOutput);
        Assert.Contains("permission denied: uid 65534", refused.StandardOutput);
        await front.WaitForOutputAsync("control socket: refused pid=");

        Assert.Equal(0, (await front.ControlAsync("status")).ExitCode);
    }

    /// <summary>A process of another user, as the tests run as root: setpriv drops to nobody before python (the system's: a pyenv shim under /root is not nobody's) connects.</summary>
    private static Task<ProcessResult> AsNobodyAsync(string socket)
    {
        const string script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(sys.argv[1])
            s.sendall(b'{"baton":1,"command":"status"}\n')
            sys.stdout.write(s.makefile().readline())
            """;
        return ChildProcess.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, socket]);
    }

    [Theory]
    [InlineData("not json\n", "malformed request")]
    [InlineData("[1,2]\n", "malformed request: not a JSON object")]
    [InlineData("{\"command\":\"status\"}\n", "no protocol version")]
    [InlineData("{\"baton\":2,\"command\":\"status\"}\n", "unsupported protocol version 2; this front speaks 1")]
    [InlineData("{\"baton\":1}\n", "no \\\"command\\\"")]
    [InlineData("{\"baton\":1,\"command\":\"launch\"}\n", "unknown command 'launch'; this front knows reload, restart, status")]
    [InlineData("{\"baton\":1,\"command\":\"status\"", "closed before the end of the line")]
    public async Task AMalformedRequestGetsAnErrorAndTheFrontServesOn(string request, string error)
    {
        await using BatonFront front = await BatonFront.StartAsync();

        string reply = await RawRequestAsync(front.ControlSocket, Encoding.UTF8.GetBytes(request), closeAfterSending: true);

        Assert.Contains("\"ok\":false", reply);
        Assert.Contains(error, reply);
        await AssertServingAsync(front);
    }

    [Fact]
    public async Task OversizedAndSilentRequestsAreCutAtTheirBounds()
    {
        await using BatonFront front = await BatonFront.StartAsync();

        string oversized = await RawRequestAsync(front.ControlSocket, Encoding.ASCII.GetBytes(new string('x', 5000)), closeAfterSending: false);
        Assert.Contains("more than 4096 bytes without a newline", oversized);

        // Says nothing: answered at the request bound (5 s), not held open.
        string silent = await RawRequestAsync(front.ControlSocket, [], closeAfterSending: false);
        Assert.Contains("no complete request within 5 s", silent);
        await AssertServingAsync(front);
    }

    [Fact]
    public async Task PeersThatHoldTheirRequestsBackCannotTakeMoreThanEightSlots()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                silent.Add(socket);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(front.ControlSocket));
            }
            // Wait until the front serves all eight (each waits for its request), then the ninth is told at once.
            string busy = "";
            await Wait.UntilAsync(() => (busy = RawRequestAsync(front.ControlSocket, Encoding.ASCII.GetBytes("{\"baton\":1,\"command\":\"status\"}\n"), closeAfterSending: true).Result)
                .Contains("busy: 8 control requests"), "a ninth request is told the front is busy");
            Assert.Contains("\"ok\":false", busy);
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
        // Their slots come back as they are cut (or close): status answers again.
        await Wait.UntilAsync(() => RawRequestAsync(front.ControlSocket, Encoding.ASCII.GetBytes("{\"baton\":1,\"command\":\"status\"}\n"), closeAfterSending: true).Result
            .Contains("\"ok\":true"), "status answers again");
    }

    [Fact]
    public async Task AStaleSocketIsReplacedAndALiveFrontsIsNotTaken()
    {
        string path = Path.Combine(Path.GetTempPath(), $"baton-control-{Guid.NewGuid():N}.sock");
        // A socket file nobody listens on: what a front killed with SIGKILL leaves behind.
        // (.NET's Socket removes the file it bound when closed, so python makes it.)
        ProcessResult made = await ChildProcess.RunAsync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]);
        Assert.True(made.ExitCode == 0 && File.Exists(path), made.ToString());
        var environment = new Dictionary<string, string> { [BatonFront.ControlSocketVariable] = path };

        await using BatonFront front = await BatonFront.StartAsync(environment: environment);
        Assert.Equal(0, (await front.ControlAsync("status")).ExitCode);

        // A second front configured onto the same socket stops at start; the first one keeps it.
        ProcessResult refused = await RunFrontAsync(path);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"Baton:Control:Socket: {path} belongs to a running front (pid {front.Pid})", refused.StandardError);
        Assert.Equal(0, (await front.ControlAsync("status")).ExitCode);
    }

    private static async Task<ProcessResult> RunFrontAsync(string controlSocket)
    {
        await using ChildProcess process = ChildProcess.Start(BatonFront.Executable, ["serve", "--listen", "127.0.0.1:0"],
            new Dictionary<string, string?> { [BatonFront.ControlSocketVariable] = controlSocket });
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return new ProcessResult(exit, process.StandardOutput, process.StandardError, process.Output);
    }

    /// <summary>Sends raw bytes on the control socket and returns the reply line (the front closes after it).</summary>
    internal static async Task<string> RawRequestAsync(string socketPath, byte[] request, bool closeAfterSending)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        if (request.Length > 0)
            await socket.SendAsync(request);
        if (closeAfterSending)
            socket.Shutdown(SocketShutdown.Send);
        byte[] reply = await Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(reply);
    }

    private static async Task AssertServingAsync(BatonFront front)
    {
        Assert.False(front.HasExited);
        Assert.Contains("Hello from Baton.", await Clients.CurlAsync(front.Port));
        Assert.Equal(0, (await front.ControlAsync("status")).ExitCode);
    }
}
