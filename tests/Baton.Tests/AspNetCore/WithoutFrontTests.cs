using System.Net;
using System.Net.Sockets;
using System.Diagnostics;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.AspNetCore;

/// <summary>Processes started by hand, not by a front.</summary>
public sealed class WithoutFrontTests
{
    [Fact]
    public async Task TheBuiltInWorkerFailsWithOneClearLine()
    {
        ProcessResult result = await ExternalProcess.RunAsync(BatonFront.Executable, ["worker"]);
        Assert.Equal(2, result.ExitCode);
        string[] lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("baton worker: this command is started by `baton serve`, which passes it its channel", Assert.Single(lines));
    }

    [Fact]
    public async Task TheSampleRunsAsAnOrdinaryApp()
    {
        int port = FreePort();
        var start = new ProcessStartInfo(SampleFront.HelloWorkerPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment.Remove("BATON_CHANNEL_FD");
        using Process process = Process.Start(start)!;
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string? page = null;
            await Wait.UntilAsync(() =>
            {
                Assert.False(process.HasExited, "the sample exited instead of serving");
                try
                {
                    page = client.GetStringAsync($"http://127.0.0.1:{port}/plain").GetAwaiter().GetResult();
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the sample answers on its own port");
            Assert.Equal("-", Clients.FactsField(page!, "pool"));
            Assert.Equal("- -", Clients.FactsField(page!, "tls"));
            Assert.Equal("GET /plain HTTP/1.1", Clients.FactsField(page!, "request"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
