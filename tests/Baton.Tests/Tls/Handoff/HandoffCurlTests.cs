using Baton.Tests.Infrastructure;
using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>The recipe with curl: two URLs on one connection, the first answered after the handoff, the second too.</summary>
public sealed class HandoffCurlTests
{
    public static TheoryData<string, string, ushort, bool> Suites => new()
    {
        { "--tls13-ciphers", "TLS_AES_128_GCM_SHA256", 0x1301, false },
        { "--tls13-ciphers", "TLS_AES_256_GCM_SHA384", 0x1302, false },
        { "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256", 0x1303, false },
        { "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, false },
        { "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, false },
        { "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, false },
        { "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, true },
        { "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384", 0xC030, true },
        { "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, true },
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task CurlKeepsTheConnectionAcrossTheHandoff(string option, string suite, ushort expectedId, bool rsa)
    {
        await using var server = new HandoffTestServer(
            HandoffTestServer.CreateContext(rsa ? TestCertificates.LocalhostRsa : TestCertificates.Localhost));
        ProcessResult result = await Curl(server.Port, option, suite);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("path=/a n=1", result.Output);
        Assert.Contains("path=/b n=2", result.Output);
        HandoffInfo handoff = await server.NextHandoffAsync();
        Assert.Equal(expectedId, handoff.Suite);
        Assert.Equal(expectedId < 0x1400 ? (ushort)0x0304 : (ushort)0x0303, handoff.Version);
        // TLS 1.2: the server's Finished was record 0 under the new keys; TLS 1.3: its NewSessionTickets were.
        Assert.True(handoff.WriteSequence >= 1, $"write sequence {handoff.WriteSequence}");
        Assert.Equal(1, server.ConnectionCount);
        Assert.False(server.HasFailures);
    }

    [Fact]
    public async Task WriteSequenceSkewedByOneBreaksTheClient()
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost)) { WriteSkew = 1 };
        ProcessResult result = await Curl(server.Port, "--tls13-ciphers", "TLS_AES_128_GCM_SHA256");

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("path=/a", result.Output);
        await server.NextHandoffAsync();
    }

    [Fact]
    public async Task ReadSequenceSkewedByOneBreaksTheWorkersNextDecrypt()
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost)) { ReadSkew = 1 };
        ProcessResult result = await Curl(server.Port, "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305");

        // The first request was decrypted by the front, so it is answered; the second is the worker's first decrypt.
        // curl retries /b on a new connection when the reused one fails; that one's first request goes through the front.
        Assert.Contains("path=/a n=1", result.Output);
        Assert.DoesNotContain("path=/b n=2", result.Output);
        HandoffFailure failure = await server.NextFailureAsync();
        Assert.True(failure.InWorker, failure.Error.ToString());
        TlsAlertException alert = Assert.IsType<TlsAlertException>(failure.Error);
        Assert.Equal(TlsAlertDescription.BadRecordMac, alert.Description);
    }

    private static Task<ProcessResult> Curl(int port, string option, string suite)
    {
        string[] version = option == "--ciphers" ? ["--tls-max", "1.2", "--tlsv1.2"] : ["--tlsv1.3"];
        return ChildProcess.RunAsync("curl", [
            "-sS", "-k", "--max-time", "20", ..version, option, suite,
            $"https://localhost:{port}/a", $"https://localhost:{port}/b"]);
    }
}
