using System.Diagnostics;
using System.Text;

namespace Baton.Tests.Tls;

/// <summary>A real client process (curl, openssl, python3) with its output captured and waitable.</summary>
internal sealed class ClientProcess : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(string Text, int Occurrences, TaskCompletionSource Seen)> _waiters = [];
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private ClientProcess(Process process)
    {
        _process = process;
        _stdoutPump = PumpAsync(process.StandardOutput);
        _stderrPump = PumpAsync(process.StandardError);
    }

    public static ClientProcess Start(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        return new ClientProcess(Process.Start(info)!);
    }

    /// <summary>Runs to completion with stdin closed at once; returns exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, params string[] arguments)
    {
        using ClientProcess client = Start(fileName, arguments);
        client.CloseInput();
        int exitCode = await client.WaitForExitAsync();
        return (exitCode, client.Output);
    }

    /// <summary>stdout and stderr interleaved as they arrived.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteAsync(line + "\n");
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    public Task WaitForOutputAsync(string text, int occurrences = 1)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (Count(_output.ToString(), text) >= occurrences) return Task.CompletedTask;
            _waiters.Add((text, occurrences, seen));
        }
        return seen.Task.WaitAsync(Deadline).ContinueWith(t =>
        {
            if (t.IsFaulted) throw new TimeoutException($"'{text}' did not appear in the output:\n{Output}");
        }, TaskScheduler.Default);
    }

    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit:\n{Output}");
        }
        await Task.WhenAll(_stdoutPump, _stderrPump);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }

    private static int Count(string output, string text)
    {
        int count = 0;
        for (int at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private async Task PumpAsync(StreamReader reader)
    {
        char[] buffer = new char[4096];
        int count;
        while ((count = await reader.ReadAsync(buffer)) > 0)
        {
            lock (_output)
            {
                _output.Append(buffer, 0, count);
                string text = _output.ToString();
                foreach (var waiter in _waiters.Where(w => Count(text, w.Text) >= w.Occurrences).ToList())
                {
                    waiter.Seen.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
        }
    }
}
