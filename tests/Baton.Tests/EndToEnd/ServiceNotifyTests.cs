using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>sd_notify from a real `baton serve` to a test's NOTIFY_SOCKET, as systemd would receive it (Type=notify).</summary>
public sealed class ServiceNotifyTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheFrontSaysReadyWhenItServesAndStoppingWhenItStops(bool abstractName)
    {
        using var notify = new NotifySocket(abstractName);
        BatonFront front = await BatonFront.StartAsync(["--workers", "1"], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Address });
        try
        {
            string ready = await notify.WaitForAsync("READY=1");
            Assert.Contains($"STATUS=serving: front pid {front.Pid}", ready.Split('\n'));
            // READY comes once the front accepts: a connection right after it is served.
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
            Assert.DoesNotContain(notify.Messages, m => m.Contains("STOPPING=1", StringComparison.Ordinal));
            Assert.DoesNotContain("NOTIFY_SOCKET", ProcFs.Environment(front.AllInitialWorkerPids.Single()));

            front.Signal(Interop.Libc.SIGTERM);
            string stopping = await notify.WaitForAsync("STOPPING=1");
            Assert.Contains("STATUS=stopping:", stopping);
        }
        finally
        {
            await front.DisposeAsync();
        }
        Assert.Equal(1, notify.Messages.Count(m => m.Contains("READY=1", StringComparison.Ordinal)));
    }

    /// <summary>Type=notify-reload: RELOADING=1 with the monotonic clock, then READY=1 again, whether the reload applied or not.</summary>
    [Fact]
    public async Task AReloadSaysReloadingThenReadyAgainEvenWhenRefused()
    {
        using var notify = new NotifySocket(abstractName: true);
        using TempFile config = TempFile.Config(new { Pools = new { @default = new { Workers = 1 } } });
        await using BatonFront front = await BatonFront.StartAsync(
            ["--config", config.Path, "--listen", "127.0.0.1:0"], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Address });
        await notify.WaitForAsync("READY=1");

        ProcessResult applied = await front.ControlAsync("reload");
        Assert.True(applied.ExitCode == 0, applied.ToString());
        string reloading = await notify.WaitForAsync("RELOADING=1");
        Assert.Contains(reloading.Split('\n'), line => line.StartsWith("MONOTONIC_USEC=", StringComparison.Ordinal));
        await Wait.UntilAsync(() => notify.Messages.Count(m => m.Contains("READY=1", StringComparison.Ordinal)) == 2, "READY=1 after the reload", TimeSpan.FromSeconds(60));

        File.WriteAllText(config.Path, """{ "Baton": { "Pools": { "default": { "Workerz": 1 } } } }""");
        ProcessResult refused = await front.ControlAsync("reload");
        Assert.Equal(1, refused.ExitCode);
        await Wait.UntilAsync(() => notify.Messages.Count(m => m.Contains("READY=1", StringComparison.Ordinal)) == 3, "READY=1 after the refused reload", TimeSpan.FromSeconds(60));
        Assert.Equal(2, notify.Messages.Count(m => m.Contains("RELOADING=1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ANotifySocketNobodyListensOnIsLoggedAndTheFrontServesOn()
    {
        string nobody = Path.Combine(Path.GetTempPath(), $"baton-test-nobody-{Guid.NewGuid():N}");
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = nobody });

        await front.WaitForOutputAsync("sd_notify READY=1 not sent: ");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
    }
}
