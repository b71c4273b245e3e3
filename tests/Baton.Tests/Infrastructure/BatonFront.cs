using System.Text.RegularExpressions;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// A real `baton serve` process on a free port. Starting it waits for the readiness line; disposing
/// it sends SIGTERM, waits for the front and every worker it started to exit, and kills stragglers.
/// </summary>
public sealed partial class BatonFront : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly HashSet<int> _knownWorkers = [];

    private BatonFront(ChildProcess process, string controlSocket)
    {
        _process = process;
        ControlSocket = controlSocket;
    }

    public int Pid => _process.Id;

    /// <summary>
    /// This front's control socket: one of its own in the temp folder (Baton__Control__Socket), unless the test sets
    /// one, so that fronts started in parallel never meet on the default path.
    /// </summary>
    public string ControlSocket { get; }
    public int Port { get; private set; }

    /// <summary>Worker pids by pool, from the readiness line.</summary>
    public IReadOnlyDictionary<string, int[]> InitialWorkers { get; private set; } = new Dictionary<string, int[]>();

    public IEnumerable<int> AllInitialWorkerPids => InitialWorkers.Values.SelectMany(p => p);

    public string Output => _process.Output;

    public bool HasExited => _process.HasExited;

    public static string Executable => Path.Combine(AppContext.BaseDirectory, "baton");

    public const string ControlSocketVariable = "Baton__Control__Socket";

    /// <summary>Runs `baton <paramref name="command"/> --control` against this front (status, reload) and returns what it printed.</summary>
    public Task<ProcessResult> ControlAsync(string command, params string[] extra) =>
        ChildProcess.RunAsync(Executable, [command, "--control", ControlSocket, .. extra], timeout: TimeSpan.FromSeconds(150));

    /// <summary>
    /// Starts `baton serve --listen 127.0.0.1:0` plus <paramref name="arguments"/>; with <paramref name="descriptorLimit"/>,
    /// under that RLIMIT_NOFILE (soft and hard, as `ulimit -n` sets them; the shell execs, so the pid is the front's); with
    /// <paramref name="launcher"/>, through that command, which must exec the executable and arguments it is given after its own.
    /// </summary>
    public static async Task<BatonFront> StartAsync(
        IEnumerable<string>? arguments = null, IDictionary<string, string>? environment = null, int? descriptorLimit = null,
        IReadOnlyList<string>? launcher = null)
    {
        List<string> args = ["serve", .. arguments ?? []];
        if (!args.Contains("--listen") && !args.Contains("--config"))
            args.InsertRange(1, ["--listen", "127.0.0.1:0"]);
        var variables = new Dictionary<string, string?>
        {
            ["Logging__LogLevel__Default"] = "Debug",
            [ControlSocketVariable] = Path.Combine(Path.GetTempPath(), $"baton-control-{Guid.NewGuid():N}.sock"),
        };
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
            variables[key] = value;
        if (descriptorLimit is int limit)
            launcher = ["/bin/sh", "-c", $"ulimit -n {limit} && exec \"$0\" \"$@\""];
        var front = new BatonFront(launcher is { Count: > 0 }
            ? ChildProcess.Start(launcher[0], [.. launcher.Skip(1), Executable, .. args], variables)
            : ChildProcess.Start(Executable, args, variables), variables[ControlSocketVariable]!);
        try
        {
            await front.WaitForReadyAsync();
        }
        catch
        {
            await front.DisposeAsync();
            throw;
        }
        return front;
    }

    private async Task WaitForReadyAsync()
    {
        string line = await WaitForOutputAsync("baton ready:", TimeSpan.FromSeconds(60));
        Port = int.Parse(ReadyPort().Match(line).Groups[1].Value);
        // DistinctBy: a JSON log line holds the workers twice, in its message and in its state.
        InitialWorkers = ReadyPool().Matches(line).DistinctBy(m => m.Groups[1].Value).ToDictionary(
            m => m.Groups[1].Value,
            m => m.Groups[2].Value.Split(',').Select(int.Parse).ToArray());
        foreach (int pid in AllInitialWorkerPids)
            _knownWorkers.Add(pid);
    }

    /// <summary>Waits for a log line containing <paramref name="text"/> and returns it.</summary>
    public Task<string> WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        _process.WaitForLineAsync(l => l.Contains(text, StringComparison.Ordinal), $"baton logs \"{text}\"", timeout ?? Wait.DefaultTimeout);

    public int CountOutput(string text) => Output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Live children of the front (the workers), remembered for cleanup.</summary>
    public IReadOnlySet<int> CurrentWorkers()
    {
        IReadOnlySet<int> children = ProcFs.Children(Pid);
        lock (_knownWorkers)
        {
            foreach (int pid in children) _knownWorkers.Add(pid);
        }
        return children;
    }

    public void Signal(int signal) => Interop.Libc.Kill(Pid, signal);

    public async ValueTask DisposeAsync()
    {
        CurrentWorkers();
        if (!_process.HasExited)
        {
            Signal(Interop.Libc.SIGTERM);
            try
            {
                await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                // WaitForExitAsync killed the process tree.
            }
        }
        int[] workers;
        lock (_knownWorkers) workers = [.. _knownWorkers];
        try
        {
            await Wait.UntilAsync(() => workers.All(pid => !ProcFs.IsAlive(pid)), "every worker has exited", TimeSpan.FromSeconds(15));
        }
        finally
        {
            foreach (int pid in workers.Where(ProcFs.IsAlive))
                Interop.Libc.Kill(pid, Interop.Libc.SIGKILL);
            await _process.DisposeAsync();
        }
    }

    [GeneratedRegex(@"https://[^ ]*:(\d+) ")]
    private static partial Regex ReadyPort();

    [GeneratedRegex(@"(\w[\w-]*)=\[([\d,]+)\]")]
    private static partial Regex ReadyPool();
}
