using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// A real `baton serve` process on a free port. Starting it waits for the readiness line; disposing
/// it sends SIGTERM, waits for the front and every worker it started to exit, and kills stragglers.
/// </summary>
public sealed partial class BatonFront : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly HashSet<int> _knownWorkers = [];

    private BatonFront(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public int Port { get; private set; }

    /// <summary>Worker pids by pool, from the readiness line.</summary>
    public IReadOnlyDictionary<string, int[]> InitialWorkers { get; private set; } = new Dictionary<string, int[]>();

    public IEnumerable<int> AllInitialWorkerPids => InitialWorkers.Values.SelectMany(p => p);

    public string Output => string.Join('\n', _output);

    public static string Executable => Path.Combine(AppContext.BaseDirectory, "baton");

    /// <summary>Starts `baton serve --listen 127.0.0.1:0` plus <paramref name="arguments"/>.</summary>
    public static async Task<BatonFront> StartAsync(IEnumerable<string>? arguments = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("serve");
        List<string> args = arguments?.ToList() ?? [];
        if (!args.Contains("--listen") && !args.Contains("--config"))
            args.InsertRange(0, ["--listen", "127.0.0.1:0"]);
        foreach (string argument in args)
            start.ArgumentList.Add(argument);
        start.Environment["Logging__LogLevel__Default"] = "Debug";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        var front = new BatonFront(Process.Start(start)!);
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
        string line = await Wait.ForAsync(
            () => _process.HasExited ? throw new InvalidOperationException($"baton exited early:\n{Output}") : _output.FirstOrDefault(l => l.Contains("baton ready:")),
            "baton prints its readiness line", TimeSpan.FromSeconds(60));
        Port = int.Parse(ReadyPort().Match(line).Groups[1].Value);
        InitialWorkers = ReadyPool().Matches(line).ToDictionary(
            m => m.Groups[1].Value,
            m => m.Groups[2].Value.Split(',').Select(int.Parse).ToArray());
        foreach (int pid in AllInitialWorkerPids)
            _knownWorkers.Add(pid);
    }

    /// <summary>Waits for a log line containing <paramref name="text"/> and returns it.</summary>
    public Task<string> WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        Wait.ForAsync(() => _output.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)), $"baton logs \"{text}\"\n{Output}", timeout);

    public int CountOutput(string text) => _output.Count(l => l.Contains(text, StringComparison.Ordinal));

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
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
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
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"https://[^ ]*:(\d+) ")]
    private static partial Regex ReadyPort();

    [GeneratedRegex(@"(\w[\w-]*)=\[([\d,]+)\]")]
    private static partial Regex ReadyPool();
}
