using Baton.Tests.Infrastructure;

namespace Baton.Tests.Hosting;

/// <summary>Reading the configuration file and environment into options: every problem once, with its key.</summary>
public sealed class FrontConfigurationTests
{
    private static IReadOnlyList<string> Load(TempFile config) => FrontConfiguration.Load(config.Path, new FrontOverrides()).Problems;

    [Fact]
    public void AMisspelledModeIsTheOneProblemReportedNotAMissingPool()
    {
        // The binder used to drop the pool without a word: alone it became a default passthrough pool of two
        // workers, next to another pool the only message was that DefaultPool names a pool that is not configured.
        using TempFile alone = TempFile.WithText("""{ "Baton": { "Pools": { "web": { "Workers": 1, "Mode": "handof" } }, "DefaultPool": "web" } }""");
        using TempFile withAnother = TempFile.WithText("""{ "Baton": { "Pools": { "web": { "Workers": 1, "Mode": "handof" }, "api": {} }, "DefaultPool": "web" } }""");

        Assert.Equal(["Baton:Pools:web:Mode: 'handof' is not one of passthrough, handoff, proxy"], Load(alone));
        Assert.Equal(["Baton:Pools:web:Mode: 'handof' is not one of passthrough, handoff, proxy"], Load(withAnother));
    }

    [Fact]
    public void MalformedJsonIsOneLineWithTheFileAndThePosition()
    {
        using TempFile config = TempFile.WithText("{\n  \"Baton\": {\n    \"Pools\" 1\n  }\n}\n");
        string problem = Assert.Single(Load(config));
        Assert.StartsWith($"{config.Path}: line 3, column 13: '1' is invalid after a property name", problem);
        Assert.DoesNotContain("LineNumber", problem);
    }

    [Fact]
    public void AMissingFileIsOneLine()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        Assert.Equal([$"{missing}: no such file"], FrontConfiguration.Load(missing, new FrontOverrides()).Problems);
    }

    [Fact]
    public void SettingsOutsideTheBatonSectionAreNotSilentlyIgnored()
    {
        using TempFile config = TempFile.WithText("""{ "Pools": { "web": {} }, "Logging": { "LogLevel": { "Default": "Debug" } } }""");
        Assert.Equal(
            [$"{config.Path}: Pools: unknown top-level key; the front's settings go under \"Baton\" (and logging under \"Logging\")"],
            Load(config));
    }

    [Fact]
    public void AValidFileBindsAndValidates()
    {
        using TempFile config = TempFile.Config(new { Pools = new { web = new { Workers = 3, Mode = "handoff" } }, DefaultPool = "web" });
        (_, BatonOptions? options, IReadOnlyList<string> problems) = FrontConfiguration.Load(config.Path, new FrontOverrides());
        Assert.Empty(problems);
        Assert.Equal((3, HandoffMode.Handoff), (options!.Pools["web"].Workers, options.Pools["web"].Mode));
    }
}
