using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Hosting;

/// <summary>The runtime settings the baton executable ships with (front, built-in workers and relays all run it).</summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void TheThreadPoolDoesNotSpinBeforeItSleeps()
    {
        // Spinning idle pool threads cost a sixth of the server's CPU per new connection (docs/benchmarks.md, "Session 8").
        string path = Path.ChangeExtension(BatonFront.Executable, ".runtimeconfig.json");
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }
}
