using System.Text;
using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>The recipe with openssl s_client: KeyUpdates on both sides of the handoff, resumption, odd record shapes.</summary>
public sealed class HandoffSClientTests
{
    private static string Request(string path, string extraHeaders = "") =>
        $"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extraHeaders}\r";

    [Theory]
    [InlineData("k")]
    [InlineData("K")]
    public async Task KeyUpdateAfterTheHandoffIsHandledByTheWorker(string command)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        using ClientProcess client = StartSClient(server.Port, "-tls1_3");
        await client.WriteLineAsync(Request("/a"));
        await client.WaitForOutputAsync("path=/a n=1");
        await client.WriteLineAsync(command);
        await client.WaitForOutputAsync("KEYUPDATE");
        await client.WriteLineAsync(Request("/b"));
        await client.WaitForOutputAsync("path=/b n=2");
        await client.WriteLineAsync(command);
        await client.WaitForOutputAsync("KEYUPDATE", 2);
        await client.WriteLineAsync(Request("/c"));
        await client.WaitForOutputAsync("path=/c n=3");
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.False(server.HasFailures);
    }

    [Theory]
    [InlineData("k", 0)]
    [InlineData("K", 1)]
    public async Task KeyUpdateBeforeTheFirstRequestAdvancesTheExportedSecrets(string command, int serverKeyUpdates)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        using ClientProcess client = StartSClient(server.Port, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256");
        await client.WaitForOutputAsync("Verify return code");
        await client.WriteLineAsync(command);
        await client.WaitForOutputAsync("KEYUPDATE");
        await client.WriteLineAsync(command);
        await client.WaitForOutputAsync("KEYUPDATE", 2);
        await client.WriteLineAsync(Request("/a"));
        await client.WaitForOutputAsync("path=/a n=1");
        await client.WriteLineAsync(Request("/b"));
        await client.WaitForOutputAsync("path=/b n=2");
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());

        HandoffInfo handoff = await server.NextHandoffAsync();
        Assert.Equal(2, handoff.ReadKeyUpdates);
        // An answered KeyUpdate was sent by libssl in the front, or is still owed and sent by the worker first.
        Assert.Equal(2 * serverKeyUpdates, handoff.WriteKeyUpdates + (handoff.KeyUpdatePending ? 1 : 0));
        Assert.False(server.HasFailures);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task ResumedSessionIsHandedOff(string version)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        string sessionFile = Path.Combine(Path.GetTempPath(), $"baton-handoff-{Guid.NewGuid():N}.pem");
        try
        {
            string first = await RunRequestsAsync(server.Port, version, "-sess_out", sessionFile);
            Assert.Contains("New, ", first);
            string second = await RunRequestsAsync(server.Port, version, "-sess_in", sessionFile);
            Assert.Contains("Reused, ", second);
            Assert.False((await server.NextHandoffAsync()).Resumed);
            Assert.True((await server.NextHandoffAsync()).Resumed);
            Assert.False(server.HasFailures);
        }
        finally
        {
            File.Delete(sessionFile);
        }
    }

    [Theory]
    [InlineData("-tls1_3", "TLS_AES_128_GCM_SHA256")]
    [InlineData("-tls1_2", "ECDHE-ECDSA-CHACHA20-POLY1305")]
    public async Task HugeHeadInSmallRecords(string version, string suite)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        var headers = new StringBuilder();
        for (int i = 0; i < 200; i++) headers.Append($"X-Filler-{i:D3}: {new string('x', 90)}\r\n");
        Assert.True(headers.Length > 20_000);
        string suiteOption = version == "-tls1_3" ? "-ciphersuites" : "-cipher";
        using ClientProcess client = StartSClient(server.Port, version, suiteOption, suite, "-max_send_frag", "512");
        await client.WriteLineAsync(Request("/big", headers.ToString()));
        await client.WaitForOutputAsync("path=/big n=1");
        await client.WriteLineAsync(Request("/after"));
        await client.WaitForOutputAsync("path=/after n=2");
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        HandoffInfo handoff = await server.NextHandoffAsync();
        Assert.True(handoff.ReadSequence > 40, $"read sequence {handoff.ReadSequence}");
        Assert.False(server.HasFailures);
    }

    [Fact]
    public async Task HelloRetryRequestBeforeTheHandoff()
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        // s_client sends a key share for its first group only; the server has no X448, so it asks again for X25519.
        string output = await RunRequestsAsync(server.Port, "-tls1_3", "-groups", "X448:X25519", "-msg");
        Assert.Contains("path=/b n=2", output);
        Assert.True(output.Split("ServerHello").Length > 2, output);
        Assert.False(server.HasFailures);
    }

    [Fact]
    public async Task PaddedRecords()
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        string output = await RunRequestsAsync(server.Port, "-tls1_3", "-record_padding", "512");
        Assert.Contains("path=/b n=2", output);
        Assert.False(server.HasFailures);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task NegotiatedMaxFragmentLengthLimitsTheWorkersRecords(string version)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        string output = await RunRequestsAsync(server.Port, version, "-maxfraglen", "1024");
        Assert.Contains("path=/b n=2", output);
        Assert.Equal(1024, (await server.NextHandoffAsync()).MaxPlaintext);
        Assert.False(server.HasFailures);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task ThreePipelinedRequestsInOneRecord(string version)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        using ClientProcess client = StartSClient(server.Port, version);
        await client.WriteLineAsync($"{Request("/p1")}\n{Request("/p2")}\n{Request("/p3")}");
        await client.WaitForOutputAsync("path=/p3 n=3");
        await client.WriteLineAsync(Request("/p4"));
        await client.WaitForOutputAsync("path=/p4 n=4");
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        HandoffInfo handoff = await server.NextHandoffAsync();
        Assert.Equal(3 * Request("/px").Length + 3, handoff.InitialPlaintextBytes);
        Assert.False(server.HasFailures);
    }

    /// <summary>Requests /a then /b, each after the previous answer, then closes stdin (s_client sends close_notify).</summary>
    private static async Task<string> RunRequestsAsync(int port, params string[] arguments)
    {
        using ClientProcess client = StartSClient(port, arguments);
        await client.WriteLineAsync(Request("/a"));
        await client.WaitForOutputAsync("path=/a n=1");
        await client.WriteLineAsync(Request("/b"));
        await client.WaitForOutputAsync("path=/b n=2");
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        return client.Output;
    }

    /// <summary>No -ign_eof: it would also turn off the k/K commands; stdin stays open until the test closes it.</summary>
    private static ClientProcess StartSClient(int port, params string[] arguments) =>
        ClientProcess.Start("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", ..arguments]);
}
