using System.Diagnostics;

namespace Baton.Tests.Infrastructure;

/// <summary>The outcome of a finished client process (curl, openssl, python3).</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>Runs a real client process to completion with a deadline; kills it (and its children) on timeout.</summary>
public static class ExternalProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? standardInput = null, TimeSpan? timeout = null, byte[]? binaryInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (binaryInput is not null)
                await process.StandardInput.BaseStream.WriteAsync(binaryInput);
            else if (standardInput is not null)
                await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The client exited before reading all its input; its exit code tells the story.
        }
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout ?? DefaultTimeout}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
