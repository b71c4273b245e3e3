namespace Baton.Tests.EndToEnd;

/// <summary>
/// Issue 11: the front refuses what libssl refuses, and only that. Each generated ClientHello goes to `openssl s_server`
/// with Baton's policy and to Baton in both modes; every server must answer as the case expects (s_server's answer,
/// unless the case names a documented policy of Baton's: docs/handoff.md, "What the front refuses").
/// </summary>
public sealed class GeneratedHelloTests : IClassFixture<RaisedLimitServers>
{
    private readonly RaisedLimitServers _servers;

    public GeneratedHelloTests(RaisedLimitServers servers) => _servers = servers;

    public static TheoryData<string> Cases => GeneratedHellos.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EveryServerAnswersTheHelloAsExpected(string name)
    {
        GeneratedHello hello = GeneratedHellos.Build(name);
        var answers = new List<string>();
        foreach (string server in HandshakeServers.Names)
        {
            // s_server serves one connection at a time: one server and one connection after the other.
            string outcome = CraftedHello.Outcome(await CraftedHello.ExchangeAsync(_servers.Port(server), hello.Segments, CraftedHello.IsServerHelloOrAlert));
            answers.Add($"{server}: {outcome}{(outcome == hello.ExpectedFrom(server) ? "" : $" (expected {hello.ExpectedFrom(server)})")}");
        }
        Assert.True(answers.All(a => !a.Contains("expected", StringComparison.Ordinal)), $"{name}: {string.Join("; ", answers)}");
    }
}
