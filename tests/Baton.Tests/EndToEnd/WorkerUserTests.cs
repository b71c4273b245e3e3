using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Workers can run as another user than the front.</summary>
public sealed class WorkerUserTests
{
    [SkippableFact]
    public async Task WorkersRunAsTheConfiguredUser()
    {
        uint uid = NobodyOrSkip();
        await using BatonFront front = await StartAsync(new { Workers = 1, User = "nobody" });
        int worker = front.InitialWorkers["default"].Single();
        Assert.Equal(uid, Uid(worker));
        Assert.Equal(worker, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
    }

    /// <summary>UseBaton() switches users: the app's code after it (here a line between Build() and Run()) is not root's.</summary>
    [SkippableFact]
    public async Task AnAppsStartupCodeRunsAsTheConfiguredUser()
    {
        uint uid = NobodyOrSkip();
        await using BatonFront front = await StartAsync(new { Workers = 1, User = "nobody", Command = AspNetCore.SampleFront.HelloWorkerPath });
        int worker = front.InitialWorkers["default"].Single();
        string started = await front.WaitForOutputAsync($"HelloWorker {worker} starting as ");
        Assert.EndsWith($"HelloWorker {worker} starting as nobody", started.TrimEnd());
        Assert.Equal(uid, Uid(worker));
        Assert.Equal(worker, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
    }

    [SkippableFact]
    public async Task AFrontAsRootWarnsOfWorkersThatWouldRunAsRoot()
    {
        NobodyOrSkip();
        await using (BatonFront withUser = await StartAsync(new { Workers = 1, User = "nobody" }))
            Assert.DoesNotContain("its workers run as root", withUser.Output);
        await using BatonFront without = await StartAsync(new { Workers = 1 });
        Assert.Contains("configuration: Baton:Pools:default: its workers run as root, the front's user, so they can read the key files", without.Output);
    }

    private static uint NobodyOrSkip()
    {
        Skip.IfNot(Interop.Libc.GetEUid() == 0, "needs root: only root can start workers as another user");
        (uint uid, _) = Interop.Libc.GetUser("nobody") ?? throw new SkipException("this machine has no user 'nobody'");
        return uid;
    }

    private static uint Uid(int pid) => uint.Parse(File.ReadLines($"/proc/{pid}/status")
        .First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);

    private static async Task<BatonFront> StartAsync(object pool)
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = pool },
            },
        }));
        try
        {
            return await BatonFront.StartAsync(["--config", config]);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
