using System.Diagnostics;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// An interactive `openssl s_client`: the test writes lines (requests, or the `k`/`K` KeyUpdate
/// commands) and waits for what the server answers before writing the next, instead of sleeping.
/// </summary>
public sealed class SClientSession : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SClientSession(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static async Task<SClientSession> ConnectAsync(int port, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", .. arguments])
            start.ArgumentList.Add(argument);
        var session = new SClientSession(Process.Start(start)!);
        await session.WaitForAsync("---\n", "the handshake to finish");
        return session;
    }

    public async Task SendAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Sends a GET and waits until the demo page for it arrives.</summary>
    public async Task RequestAsync(string path)
    {
        await SendAsync($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        await WaitForAsync($"request: GET {path} HTTP/1.1", $"the answer to {path}");
    }

    public async Task WaitForAsync(string text, string what)
    {
        await Wait.UntilAsync(() => _process.HasExited || Output.Contains(text, StringComparison.Ordinal), $"{what}; s_client printed:\n{Output}");
        Assert.True(Output.Contains(text, StringComparison.Ordinal), $"s_client exited before {what}:\n{Output}");
    }

    public Task WaitForCountAsync(string text, int count, string what) =>
        Wait.UntilAsync(() => Occurrences(text) >= count, $"{what}; s_client printed:\n{Output}");

    private int Occurrences(string text)
    {
        string output = Output;
        int found = 0;
        for (int at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            found++;
        return found;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.Append(line).Append('\n');
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
