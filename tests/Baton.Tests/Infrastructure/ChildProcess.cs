using System.Diagnostics;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>The outcome of a finished process: its exit code, and what it printed, separately and interleaved.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, string Output)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>
/// A real process a test starts (curl, openssl, python3, baton): stdin writable, stdout and stderr captured both
/// separately and interleaved line by line, output waitable with a deadline. Every wait fails fast once the process
/// has exited without printing what was awaited. Disposing closes stdin, gives the process a moment to exit on its own
/// (s_client writes its session file then), and kills the whole process tree if it does not.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly string _name;
    private readonly object _gate = new();
    private readonly StringBuilder _interleaved = new();
    private readonly OutputStream _stdout = new();
    private readonly OutputStream _stderr = new();
    private readonly Task _pumps;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;

    private ChildProcess(Process process, string name)
    {
        _process = process;
        _name = name;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout), PumpAsync(process.StandardError, _stderr));
    }

    /// <summary>Starts <paramref name="fileName"/>; an <paramref name="environment"/> value of null removes that variable.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(key);
            else start.Environment[key] = value;
        }
        string name = $"{fileName} {string.Join(' ', start.ArgumentList)}";
        return new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}"), name);
    }

    /// <summary>Runs to completion: writes <paramref name="input"/> (if any), closes stdin, waits; kills the tree on timeout.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, string? input = null, TimeSpan? timeout = null)
    {
        await using ChildProcess process = Start(fileName, arguments);
        try
        {
            if (input is not null) await process.WriteAsync(input);
            process.CloseInput();
        }
        catch (IOException)
        {
            // The process exited before reading all its input; its exit code tells the story.
        }
        int exitCode = await process.WaitForExitAsync(timeout);
        return new ProcessResult(exitCode, process.StandardOutput, process.StandardError, process.Output);
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>stdout and stderr interleaved line by line, as they arrived.</summary>
    public string Output
    {
        get { lock (_gate) return _interleaved.ToString(); }
    }

    public string StandardOutput
    {
        get { lock (_gate) return _stdout.Text.ToString(); }
    }

    public string StandardError
    {
        get { lock (_gate) return _stderr.Text.ToString(); }
    }

    public async Task WriteAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    public Task WriteLineAsync(string line) => WriteAsync(line + "\n");

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Kills the process tree now: for servers, which do not stop when their stdin closes.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    /// <summary>Waits until <paramref name="text"/> has appeared <paramref name="occurrences"/> times in <see cref="Output"/>.</summary>
    public Task WaitForOutputAsync(string text, int occurrences = 1, TimeSpan? timeout = null) =>
        WaitForAsync(() => Count(Output, text) >= occurrences ? text : null, $"'{text}' printed {occurrences} time(s)", timeout);

    /// <summary>Waits for a complete line of <see cref="Output"/> that <paramref name="match"/> accepts and returns it.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null) =>
        WaitForAsync(() => Output.Split('\n')[..^1].FirstOrDefault(match), what, timeout);

    /// <summary>Waits for the exit and for all output; kills the process tree and throws on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            await _pumps.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{_name} did not exit within {timeout ?? DefaultTimeout}; it printed:\n{Output}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                CloseInput();
                await _process.WaitForExitAsync().WaitAsync(ExitGrace);
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            Kill();
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private async Task<T> WaitForAsync<T>(Func<T?> probe, string what, TimeSpan? timeout) where T : class
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            Task changed;
            bool drained;
            lock (_gate)
            {
                changed = _changed.Task;
                drained = _openStreams == 0;
            }
            if (probe() is T found) return found;
            if (drained) throw new Xunit.Sdk.XunitException($"{_name} exited before {what}; it printed:\n{Output}");
            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"timed out waiting until {what}; {_name} printed:\n{Output}");
            }
        }
    }

    private async Task PumpAsync(StreamReader reader, OutputStream stream)
    {
        char[] buffer = new char[16 * 1024];
        int count;
        while ((count = await reader.ReadAsync(buffer)) > 0)
        {
            lock (_gate)
            {
                stream.Text.Append(buffer, 0, count);
                stream.MoveCompleteLinesTo(_interleaved, endOfStream: false);
                SignalChange();
            }
        }
        lock (_gate)
        {
            stream.MoveCompleteLinesTo(_interleaved, endOfStream: true);
            _openStreams--;
            SignalChange();
        }
    }

    private void SignalChange()
    {
        TaskCompletionSource changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private static int Count(string output, string text)
    {
        int count = 0;
        for (int at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    /// <summary>One output stream; only whole lines go to the interleaved view, so lines of stdout and stderr never mix.</summary>
    private sealed class OutputStream
    {
        private int _interleavedUpTo;

        public StringBuilder Text { get; } = new();

        public void MoveCompleteLinesTo(StringBuilder interleaved, bool endOfStream)
        {
            int end = Text.Length;
            if (!endOfStream)
            {
                while (end > _interleavedUpTo && Text[end - 1] != '\n') end--;
            }
            interleaved.Append(Text, _interleavedUpTo, end - _interleavedUpTo);
            _interleavedUpTo = end;
        }
    }
}
