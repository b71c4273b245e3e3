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

    [Fact]
    public async Task ANotifySocketNobodyListensOnIsLoggedAndTheFrontServesOn()
    {
        string nobody = Path.Combine(Path.GetTempPath(), $"baton-test-nobody-{Guid.NewGuid():N}");
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = nobody });

        await front.WaitForOutputAsync("sd_notify READY=1 not sent: ");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
    }
}
