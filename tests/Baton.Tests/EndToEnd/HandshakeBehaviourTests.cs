using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Issue 16: the same crafted clients against `openssl s_server` with Baton's policy and against Baton in both modes
/// must see the same handshake: resumed or not, tickets received, alert received, hello accepted.
/// </summary>
public sealed class HandshakeBehaviourTests : IClassFixture<HandshakeServers>
{
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
}
