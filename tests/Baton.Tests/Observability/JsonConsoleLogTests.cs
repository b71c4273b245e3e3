using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Observability;

/// <summary>Logging:Console:FormatterName=json: the front's and the built-in workers' console output is one JSON object per line.</summary>
public sealed class JsonConsoleLogTests
{
    [Fact]
    public async Task EveryLineOfTheFrontAndItsWorkersIsOneJsonObjectAndTheAccessLineCarriesItsFields()
    {
        using TempFile config = TempFile.Config(new
        {
            Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } },
            // Four workers starting at once write long lines at the same moment as the front: they must not interleave.
            Pools = new { @default = new { Workers = 4, Mode = "handoff" } },
            AccessLog = new { Enabled = true, Format = "{pool} {worker_pid} {path}" },
        });
        var json = new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" };
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path], json);

        int pid = Clients.WorkerPid(await Clients.CurlAsync(front.Port, path: "/json", extra: ["--http1.1"]));
        await front.WaitForOutputAsync("\"Category\":\"Baton.Access\"");

        string[] lines = front.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        JsonElement[] entries = lines.Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.All(entries, entry => Assert.Equal(JsonValueKind.Object, entry.ValueKind));
        // The workers' own lines are JSON too: they take the setting from the environment they inherit.
        Assert.Contains(entries, entry => entry.GetProperty("Category").GetString() == "Baton.Worker");
        JsonElement access = Assert.Single(entries, entry => entry.GetProperty("Category").GetString() == "Baton.Access");
        Assert.Equal(140, access.GetProperty("EventId").GetInt32());
        Assert.Equal($"default {pid} /json", access.GetProperty("Message").GetString());
        JsonElement state = access.GetProperty("State");
        Assert.Equal("default", state.GetProperty("pool").GetString());
        Assert.Equal(pid, state.GetProperty("worker_pid").GetInt32());
        Assert.Equal("/json", state.GetProperty("path").GetString());
    }

    [Fact]
    public async Task TheSettingInTheConfigurationFileMakesTheFrontAndItsWorkersLogJson()
    {
        using TempFile config = TempFile.WithText("""
            { "Baton": { "Listeners": [ { "Address": "127.0.0.1:0" } ], "Pools": { "default": { "Workers": 1 } } },
              "Logging": { "Console": { "FormatterName": "json" } } }
            """);
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);

        string ready = await front.WaitForOutputAsync("baton ready:");

        JsonElement entry = JsonDocument.Parse(ready).RootElement;
        Assert.Equal("Baton.Front", entry.GetProperty("Category").GetString());
        Assert.Equal(front.Pid, entry.GetProperty("State").GetProperty("Pid").GetInt32());
        await front.WaitForOutputAsync("\"Category\":\"Baton.Worker\"");
        Assert.All(front.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => JsonDocument.Parse(line).Dispose());
    }
}
