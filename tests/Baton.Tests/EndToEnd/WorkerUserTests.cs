using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Workers can run as another user than the front.</summary>
public sealed class WorkerUserTests
{
    [SkippableFact]
    public async Task WorkersRunAsTheConfiguredUser()
    {
        Skip.IfNot(Interop.Libc.GetEUid() == 0, "needs root: only root can start workers as another user");
        (uint uid, _) = Interop.Libc.GetUser("nobody") ?? throw new SkipException("this machine has no user 'nobody'");
        string config = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = 1, User = "nobody" } },
            },
        }));
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            int worker = front.InitialWorkers["default"].Single();
            string uidLine = File.ReadLines($"/proc/{worker}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            Assert.Equal(uid.ToString(), uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
            Assert.Equal(worker, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
        }
        finally
        {
            File.Delete(config);
        }
    }
}
