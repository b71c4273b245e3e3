using System.Diagnostics;
using Baton.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// `baton reload` ten times while clients keep going: keep-alive connections that never reconnect, and a loop of new
/// connections. Not one request or connection may fail; after each reload a new connection is served the new
/// certificate, and the keep-alive connections opened before the first reload are still answering after the last.
/// </summary>
public sealed class ReloadUnderLoadTests(ITestOutputHelper output)
{
    private const int KeepAliveConnections = 4;
    private const int NewConnectionLoops = 2;
    private const int Reloads = 10;

    [Theory]
    [InlineData("passthrough")]
    [InlineData("handoff")]
    public async Task TenReloadsWhileClientsKeepGoingFailNothing(string mode)
    {
        using ReloadSite site = ReloadSite.Create(new()
        {
            ["Pools"] = new Dictionary<string, object> { ["default"] = new { Workers = 2, Mode = mode } },
        });
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);

        var keepAlive = new List<TlsRequester>();
        for (int i = 0; i < KeepAliveConnections; i++)
            keepAlive.Add(await TlsRequester.ConnectAsync(front.Port));
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        long newConnections = 0;
        Task[] load =
        [
            .. keepAlive.Select(connection => KeepRequestingAsync(connection, failures, stop.Token)),
            .. Enumerable.Range(0, NewConnectionLoops).Select(_ => KeepConnectingAsync(front.Port, failures, () => Interlocked.Increment(ref newConnections), stop.Token)),
        ];

        var reloadTimes = new List<double>();
        int[] before = [];
        for (int reload = 1; reload <= Reloads; reload++)
        {
            string serial = site.ReplaceCertificate();
            if (reload == Reloads)
                before = [.. keepAlive.Select(c => c.Requests)];
            var watch = Stopwatch.StartNew();
            ProcessResult result = await front.ControlAsync("reload");
            reloadTimes.Add(watch.Elapsed.TotalMilliseconds);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains($"reloaded: generation {reload + 1}", result.StandardOutput);
            await using TlsRequester fresh = await TlsRequester.ConnectAsync(front.Port);
            Assert.Equal(serial, fresh.Serial);
            Assert.Contains("Hello from Baton.", await fresh.GetAsync());
        }
        // The keep-alive connections answer after the last reload too, each on the certificate it started with.
        await Wait.UntilAsync(() => keepAlive.Select((c, i) => c.Requests > before[i] + 2).All(moved => moved), "every keep-alive connection answered again");
        stop.Cancel();
        await Task.WhenAll(load);

        long requests = keepAlive.Sum(c => c.Requests);
        output.WriteLine($"{mode}: {Reloads} reloads ({reloadTimes.Min():0}-{reloadTimes.Max():0} ms each, CLI included); "
            + $"{requests} keep-alive requests on {KeepAliveConnections} connections, {newConnections} new connections; {failures.Count} failed");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.All(keepAlive, c => Assert.True(c.Requests > Reloads, $"a keep-alive connection answered only {c.Requests} requests"));
        Assert.True(newConnections > Reloads, $"only {newConnections} new connections during the reloads");
        await Task.WhenAll(keepAlive.Select(c => c.DisposeAsync().AsTask()));
    }

    private static async Task KeepRequestingAsync(TlsRequester connection, List<string> failures, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await connection.GetAsync(CancellationToken.None);
            }
            catch (Exception ex)
            {
                lock (failures) failures.Add($"keep-alive request {connection.Requests + 1}: {ex.Message}");
                return;
            }
        }
    }

    private static async Task KeepConnectingAsync(int port, List<string> failures, Action counted, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using TlsRequester connection = await TlsRequester.ConnectAsync(port);
                await connection.GetAsync();
                counted();
            }
            catch (Exception ex)
            {
                lock (failures) failures.Add($"new connection: {ex.Message}");
            }
        }
    }
}
