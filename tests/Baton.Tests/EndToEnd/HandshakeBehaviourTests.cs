using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Issue 16: the same crafted clients against `openssl s_server` with Baton's policy and against Baton in both modes
/// must see the same handshake: resumed or not, tickets received, alert received, hello accepted.
/// </summary>
public sealed class HandshakeBehaviourTests : IClassFixture<HandshakeServers>
{
    private const byte Fatal = 2, IllegalParameter = 47, UnexpectedMessage = 10;

    private readonly HandshakeServers _servers;

    public HandshakeBehaviourTests(HandshakeServers servers) => _servers = servers;

    public static TheoryData<string> Servers => HandshakeServers.All;

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Tls12SessionIdsResume(string server)
    {
        int port = _servers.Port(server);
        string session = Path.Combine(_servers.Directory, $"tls12-{server}.pem");
        SClientRun first = await SClientRun.RequestAsync(port, "-tls1_2", "-no_ticket", "-sess_out", session);
        Assert.True(first.Served, first.ToString());
        Assert.Equal("New, TLSv1.2", first.Session);
        for (int i = 0; i < 5; i++)
        {
            SClientRun again = await SClientRun.RequestAsync(port, "-tls1_2", "-no_ticket", "-sess_in", session);
            Assert.True(again.Served, again.ToString());
            Assert.True(again.Session == "Reused, TLSv1.2", $"connection {i + 2} to {server} was not resumed:\n{again}");
        }
    }

    /// <summary>
    /// What passthrough does instead (README): each worker has its own session-ID cache, so a TLS 1.2 session without a
    /// ticket resumes only on the worker that made it (the single-worker pool above resumes every time).
    /// </summary>
    [Fact]
    public async Task PassthroughSessionIdsResumeOnlyOnTheWorkerThatMadeThem()
    {
        await using BatonFront front = await _servers.StartBatonAsync(HandshakeServers.Passthrough, workers: 2);
        string session = Path.Combine(_servers.Directory, "tls12-two-workers.pem");
        // The first connection stays open, so the front gives the second one to the other worker (least busy).
        await using ChildProcess first = await SClient.ConnectAsync(front.Port, "-tls1_2", "-no_ticket", "-sess_out", session);
        await first.RequestAsync("/first");
        await using ChildProcess second = await SClient.ConnectAsync(front.Port, "-tls1_2", "-no_ticket", "-sess_in", session);
        await second.RequestAsync("/second");

        Assert.NotEqual(Clients.WorkerPid(first.Output), Clients.WorkerPid(second.Output));
        Assert.Contains("New, TLSv1.2", second.Output);
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Tls13ResumptionGetsAFreshTicketThatResumesToo(string server)
    {
        int port = _servers.Port(server);
        string full = Path.Combine(_servers.Directory, $"tls13-full-{server}.pem");
        string resumed = Path.Combine(_servers.Directory, $"tls13-resumed-{server}.pem");

        SClientRun first = await SClientRun.RequestAsync(port, "-tls1_3", "-sess_out", full);
        Assert.Equal(("New, TLSv1.3", 2), (first.Session, first.Tickets));
        SClientRun second = await SClientRun.RequestAsync(port, "-tls1_3", "-sess_in", full, "-sess_out", resumed);
        Assert.Equal(("Reused, TLSv1.3", 1), (second.Session, second.Tickets));
        SClientRun third = await SClientRun.RequestAsync(port, "-tls1_3", "-sess_in", resumed);
        Assert.Equal(("Reused, TLSv1.3", 1), (third.Session, third.Tickets));
        Assert.True(third.Served, third.ToString());
    }

    public static TheoryData<string, int> ServersAndTicketCounts
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (string server in HandshakeServers.All)
            {
                data.Add(server, 3);
                data.Add(server, 0);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ServersAndTicketCounts))]
    public async Task TheTicketsPerFullHandshakeAreConfigurable(string server, int count)
    {
        await using IAsyncDisposable started = server == HandshakeServers.Reference
            ? await SServer.StartAsync(_servers.CertificateFile, _servers.KeyFile, "-num_tickets", $"{count}")
            : await _servers.StartBatonAsync(server, _servers.TicketKeyFile,
                new Dictionary<string, string> { ["Baton__SessionTickets__TicketsPerHandshake"] = $"{count}" });
        int port = started is SServer reference ? reference.Port : ((BatonFront)started).Port;
        string session = Path.Combine(_servers.Directory, $"tls13-{count}-{server}.pem");

        SClientRun first = await SClientRun.RequestAsync(port, "-tls1_3", "-sess_out", session);
        Assert.Equal(("New, TLSv1.3", count), (first.Session, first.Tickets));
        Assert.True(first.Served, first.ToString());
        if (count == 0) return; // no ticket, no session to resume (s_client writes no session file)
        SClientRun resumed = await SClientRun.RequestAsync(port, "-tls1_3", "-sess_in", session);
        Assert.Equal(("Reused, TLSv1.3", 1), (resumed.Session, resumed.Tickets));
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task NoCommonApplicationProtocolIsAFatalAlert(string server)
    {
        int port = _servers.Port(server);
        SClientRun none = await SClientRun.RequestAsync(port, "-alpn", "spdy/3,http/1.0");
        Assert.Contains("SSL alert number 120", none.Result.Output); // no_application_protocol
        Assert.False(none.Served, none.ToString());

        SClientRun overlap = await SClientRun.RequestAsync(port, "-alpn", "spdy/3,http/1.1");
        Assert.Contains("ALPN protocol: http/1.1", overlap.Result.StandardOutput);
        Assert.True(overlap.Served, overlap.ToString());

        SClientRun without = await SClientRun.RequestAsync(port);
        Assert.Contains("No ALPN negotiated", without.Result.StandardOutput);
        Assert.True(without.Served, without.ToString());
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task AFullSizeSingleRecordClientHelloIsAccepted(string server)
    {
        byte[] hello = CraftedHello.Handshake(CraftedHello.Message(16 * 1024));
        Assert.Equal(16_389, hello.Length);
        List<(byte Type, byte[] Payload)> answer = await CraftedHello.ExchangeAsync(_servers.Port(server), hello, CraftedHello.IsServerHelloOrAlert);
        Assert.True(answer is [(0x16, [0x02, ..]), ..], $"{server} answered {CraftedHello.Describe(answer)}, not a ServerHello");
    }

    /// <summary>Baton only (s_server has no such limit below libssl's own): the limit counts the message and may be raised.</summary>
    [Fact]
    public async Task TheClientHelloLimitCountsTheMessageAndMayBeRaisedAbove16KiB()
    {
        await using BatonFront front = await _servers.StartBatonAsync(HandshakeServers.Handoff,
            environment: new Dictionary<string, string> { ["Baton__Limits__ClientHelloMaxBytes"] = "40000" });
        byte[] message = CraftedHello.Message(40_000);
        byte[] atLimit = [.. CraftedHello.Handshake(message.AsSpan(0, 16384)), .. CraftedHello.Handshake(message.AsSpan(16384, 16384)),
            .. CraftedHello.Handshake(message.AsSpan(32768))];
        List<(byte Type, byte[] Payload)> accepted = await CraftedHello.ExchangeAsync(front.Port, atLimit, CraftedHello.IsServerHelloOrAlert);
        Assert.True(accepted is [(0x16, [0x02, ..]), ..], $"a 40,000-byte hello got {CraftedHello.Describe(accepted)}");

        byte[] over = CraftedHello.Message(40_001);
        List<(byte Type, byte[] Payload)> refused = await CraftedHello.ExchangeAsync(front.Port,
            [.. CraftedHello.Handshake(over.AsSpan(0, 16384)), .. CraftedHello.Handshake(over.AsSpan(16384, 16384)), .. CraftedHello.Handshake(over.AsSpan(32768))],
            CraftedHello.IsServerHelloOrAlert);
        Assert.True(CraftedHello.FirstAlert(refused) == (Fatal, IllegalParameter), $"a 40,001-byte hello got {CraftedHello.Describe(refused)}");
        await front.WaitForOutputAsync("reason=client_hello_too_large");
    }

    public static TheoryData<string, string> InterleavedPlaces
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string server in HandshakeServers.All)
            {
                data.Add(server, "between two ClientHello fragments");
                data.Add(server, "between the ClientHello and the next flight");
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(InterleavedPlaces))]
    public async Task ZeroLengthApplicationDataInsideTheHandshakeIsAnUnexpectedMessage(string server, string place)
    {
        byte[] message = CraftedHello.Message();
        byte[] bytes = place.StartsWith("between two", StringComparison.Ordinal)
            ? [.. CraftedHello.Handshake(message.AsSpan(0, 40)), .. CraftedHello.EmptyApplicationData, .. CraftedHello.Handshake(message.AsSpan(40))]
            : [.. CraftedHello.Handshake(message), .. CraftedHello.EmptyApplicationData];
        List<(byte Type, byte[] Payload)> answer = await CraftedHello.ExchangeAsync(_servers.Port(server), bytes, CraftedHello.IsAlert);
        Assert.True(CraftedHello.FirstAlert(answer) == (Fatal, UnexpectedMessage), $"{server} answered {CraftedHello.Describe(answer)}");
    }
}
