using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Baton.Tests.Configuration;

public sealed partial class ConfigurationCheckerTests
{
    private static IConfigurationSection Section(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection(BatonOptions.SectionName);

    private static IReadOnlyList<string> Check(string json) => ConfigurationChecker.Check(Section(json), typeof(BatonOptions));

    [Fact]
    public void AMisspelledModeNamesItsKeyAndTheChoices()
    {
        Assert.Equal(
            ["Baton:Pools:web:Mode: 'handof' is not one of passthrough, handoff, proxy"],
            Check("""{ "Baton": { "Pools": { "web": { "Workers": 1, "Mode": "handof" } }, "DefaultPool": "web" } }"""));
    }

    [Fact]
    public void UnknownKeysAreReportedWithTheKeyTheyProbablyMeant()
    {
        Assert.Equal(
            [
                "Baton:Limitz: unknown key; did you mean 'Limits'?",
                "Baton:Pools:web:Worker: unknown key; did you mean 'Workers'?",
                "Baton:Routes:0:Colour: unknown key; the keys here are Listener, ServerNames, Hosts, PathPrefix, Pool, ClientCertificates",
            ],
            Check("""{ "Baton": { "Limitz": { "DispatchTimeout": "00:00:01" }, "Pools": { "web": { "Worker": 5 } }, "Routes": [ { "Pool": "web", "Colour": "red" } ] } }"""));
    }

    [Fact]
    public void EveryValueThatDoesNotParseIsReportedOnceWithWhatIsWrong()
    {
        const string json = """
            {
              "Baton": {
                "DefaultPool": null,
                "Listeners": [ { "Address": "127.0.0.1:0", "ProxyProtocol": "yes" } ],
                "Pools": { "web": { "Workers": "many", "Alpn": "h2", "Command": null } },
                "Routes": [ { "ServerNames": [ null ], "Pool": { "Name": "web" } } ],
                "Limits": { "DispatchTimeout": "2s", "ClientHelloTimeout": "5", "MaxFrontConnections": 1.5 }
              }
            }
            """;
        Assert.Equal(
            [
                "Baton:DefaultPool: expected a string, found null",
                "Baton:Limits:ClientHelloTimeout: '5' would be read as 5 days; write a duration such as 00:00:05 (5 seconds) or 5.00:00:00 (days)",
                "Baton:Limits:DispatchTimeout: '2s' is not a duration such as 00:00:05 (hours:minutes:seconds)",
                "Baton:Limits:MaxFrontConnections: '1.5' is not a whole number",
                "Baton:Listeners:0:ProxyProtocol: 'yes' is not true or false",
                "Baton:Pools:web:Alpn: expected a list, found the value 'h2'",
                "Baton:Pools:web:Workers: 'many' is not a whole number",
                "Baton:Routes:0:Pool: expected a string, found a section (Name)",
                "Baton:Routes:0:ServerNames:0: expected a string, found null",
            ],
            Check(json));
    }

    [Fact]
    public void ListKeysMustBeIndicesFromZeroWithoutGaps()
    {
        IConfigurationSection section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Baton:Listeners:0:Address"] = "127.0.0.1:0",
            ["Baton:Listeners:2:Address"] = "127.0.0.1:0",
            ["Baton:Routes:first:Pool"] = "default",
        }).Build().GetSection("Baton");

        Assert.Equal(
            [
                "Baton:Listeners: list indices must count up from 0 without gaps (found 0, 2)",
                "Baton:Routes:first: 'first' is not a list index (0, 1, 2, ...)",
            ],
            ConfigurationChecker.Check(section, typeof(BatonOptions)));
    }

    [Fact]
    public void KeysAndEnumNamesAreCaseInsensitiveAsInTheBinder()
    {
        const string json = """{ "baton": { "pools": { "web": { "mode": "HANDOFF", "workers": 3 } }, "defaultPool": "web" } }""";
        Assert.Empty(Check(json));
        PoolOptions pool = Section(json).Get<BatonOptions>()!.Pools["web"];
        Assert.Equal((HandoffMode.Handoff, 3), (pool.Mode, pool.Workers));
    }

    [Fact]
    public void EveryOptionWrittenOutReadsBackWithoutAProblem()
    {
        // Every option type appears here once, so a property of a type the checker does not know fails this test.
        var options = new BatonOptions
        {
            Listeners = [new ListenerOptions { Name = "l", Address = "127.0.0.1:0", ProxyProtocol = true, ReusePort = true }],
            Pools = new() { ["p"] = new PoolOptions { Mode = HandoffMode.Handoff, Alpn = ["h2"], Command = "/bin/true", Arguments = ["-x"], User = "nobody", Environment = new() { ["A"] = "1" } } },
            Routes = [new RouteOptions { Listener = "l", ServerNames = ["a.test"], Hosts = ["b.test"], PathPrefix = "/x/", Pool = "p" }],
            Certificates = [new CertificateOptions { ServerNames = ["a.test"], CertificateFile = "/c.pem", KeyFile = "/k.pem" }],
            SessionTickets = new SessionTicketOptions { KeyFile = "/t.key" },
        };
        var json = new JsonSerializerOptions { Converters = { new JsonStringEnumConverter() } };
        string written = JsonSerializer.Serialize(new { Baton = options }, json);

        Assert.Empty(Check(written));
        Assert.Equal(written, JsonSerializer.Serialize(new { Baton = Section(written).Get<BatonOptions>() }, json));
    }

    [Fact]
    public void TheDocumentedExamplesAreValidConfigurations()
    {
        string root = RepositoryRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        string[] examples = [.. JsonBlocks().Matches(readme).Select(m => m.Groups[1].Value).Where(block => block.Contains("\"Listeners\"", StringComparison.Ordinal))];
        Assert.NotEmpty(examples);
        Assert.All(examples, example => Assert.Empty(Check(example)));
        Assert.Empty(Check(File.ReadAllText(Path.Combine(root, "samples", "baton.json"))));
    }

    private static string RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "Baton.slnx")))
            directory = Path.GetDirectoryName(directory);
        return directory ?? throw new InvalidOperationException("the repository root (Baton.slnx) is not above the test binaries");
    }

    [GeneratedRegex("```json\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlocks();
}
