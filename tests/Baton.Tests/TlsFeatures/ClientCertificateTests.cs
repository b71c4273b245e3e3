using Baton.Tests.Infrastructure;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// Client certificates with curl, in both modes: the app (the built-in worker's facts page) sees the verified certificate's
/// subject and thumbprint; a required listener refuses a client without one (certificate_required in TLS 1.3) and one from
/// another CA (unknown_ca), and the refusal is counted and logged by reason.
/// </summary>
public sealed class ClientCertificateTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Authority _ca;
    private readonly TestPki.Authority _otherCa;
    private readonly TestPki.Issued _alice;
    private readonly TestPki.Issued _mallory;

    public ClientCertificateTests()
    {
        _ca = _pki.CreateAuthority("clients-ca");
        _otherCa = _pki.CreateAuthority("other-ca");
        _alice = _ca.Issue("alice");
        _mallory = _otherCa.Issue("mallory");
    }

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task AnOptionalListenerServesWithAndWithoutACertificate(string mode)
    {
        await using BatonFront front = await StartAsync(mode, "Optional");

        string without = await Clients.CurlAsync(front.Port);
        Assert.Equal("-", Clients.FactsField(without, "client certificate"));

        string with = await Clients.CurlAsync(front.Port, extra: ["--cert", _alice.CertificateFile, "--key", _alice.KeyFile]);
        Assert.Equal($"CN=alice; sha1 {_alice.Certificate.Thumbprint}", Clients.FactsField(with, "client certificate"));
        Assert.Equal(mode, Clients.FactsField(with, "mode"));
    }

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task ARequiredListenerRefusesNoCertificateAndAStrangersCertificate(string mode)
    {
        await using BatonFront front = await StartAsync(mode, "Required");

        string with = await Clients.CurlAsync(front.Port, extra: ["--cert", _alice.CertificateFile, "--key", _alice.KeyFile]);
        Assert.Equal($"CN=alice; sha1 {_alice.Certificate.Thumbprint}", Clients.FactsField(with, "client certificate"));

        ProcessResult none = await CurlFailsAsync(front.Port, "--tlsv1.3");
        Assert.Contains("certificate required", none.StandardError);
        ProcessResult stranger = await CurlFailsAsync(front.Port, "--cert", _mallory.CertificateFile, "--key", _mallory.KeyFile);
        Assert.Contains("unknown ca", stranger.StandardError);

        await front.WaitForOutputAsync("reason=client_certificate_missing");
        await front.WaitForOutputAsync("reason=client_certificate_untrusted");
    }

    [Fact]
    public async Task TlsTwelveWithoutACertificateAndAnExpiredCertificateAreRefused()
    {
        TestPki.Issued expired = _ca.Issue("expired", notAfter: DateTimeOffset.UtcNow.AddMinutes(-30));
        await using BatonFront front = await StartAsync("handoff", "Required");

        ProcessResult none = await CurlFailsAsync(front.Port, "--tlsv1.2", "--tls-max", "1.2");
        Assert.Contains("alert handshake failure", none.StandardError);
        await front.WaitForOutputAsync("reason=client_certificate_missing");
        ProcessResult old = await CurlFailsAsync(front.Port, "--cert", expired.CertificateFile, "--key", expired.KeyFile);
        Assert.Contains("certificate expired", old.StandardError);
        await front.WaitForOutputAsync("reason=client_certificate_invalid: certificate has expired");
    }

    [Fact]
    public async Task ARevokedCertificateIsRefusedWhenTheListenerHasACrl()
    {
        TestPki.Issued revoked = _ca.Issue("revoked");
        string crl = _ca.WriteCrl(revoked.Certificate);
        await using BatonFront front = await StartAsync("handoff", "Required", crl);

        string alice = await Clients.CurlAsync(front.Port, extra: ["--cert", _alice.CertificateFile, "--key", _alice.KeyFile]);
        Assert.Equal($"CN=alice; sha1 {_alice.Certificate.Thumbprint}", Clients.FactsField(alice, "client certificate"));
        ProcessResult refused = await CurlFailsAsync(front.Port, "--cert", revoked.CertificateFile, "--key", revoked.KeyFile);
        Assert.Contains("certificate revoked", refused.StandardError);
        await front.WaitForOutputAsync("reason=client_certificate_invalid");
    }

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task ARouteByServerNameRequiresACertificateWhereItsListenerDoesNot(string mode)
    {
        var routes = new[]
        {
            new { ServerNames = new[] { "secure.localhost" }, Pool = "default", ClientCertificates = Policy("Required") },
        };
        await using BatonFront front = await BatonFront.StartAsync(["--config", _pki.WriteConfig(mode, null, routes)]);

        string open = await Clients.CurlAsync(front.Port, "localhost");
        Assert.Equal("-", Clients.FactsField(open, "client certificate"));
        ProcessResult refused = await CurlFailsAsync(front.Port, "--tlsv1.3", "--resolve", $"secure.localhost:{front.Port}:127.0.0.1", $"https://secure.localhost:{front.Port}/");
        Assert.Contains("certificate required", refused.StandardError);
        string secure = await Clients.CurlAsync(front.Port, "secure.localhost", extra: ["--cert", _alice.CertificateFile, "--key", _alice.KeyFile]);
        Assert.Equal($"CN=alice; sha1 {_alice.Certificate.Thumbprint}", Clients.FactsField(secure, "client certificate"));
    }

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task AResumedSessionStillCarriesTheClientCertificate(string mode)
    {
        await using BatonFront front = await StartAsync(mode, "Required");
        string session = _pki.PathOf($"session-{mode}.pem");
        string[] certificate = ["-cert", _alice.CertificateFile, "-key", _alice.KeyFile];

        await using (ChildProcess first = await SClient.ConnectAsync(front.Port, ["-tls1_3", "-sess_out", session, .. certificate]))
            await first.RequestAsync("/first");
        // No certificate this time: the session holds the one verified in the full handshake.
        await using ChildProcess resumed = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", session);
        await resumed.RequestAsync("/resumed");
        Assert.Contains("Reused, TLSv1.3", resumed.Output);
        Assert.Contains($"client certificate: CN=alice; sha1 {_alice.Certificate.Thumbprint}", resumed.Output);
    }

    [Fact]
    public async Task ARouteByPathCannotAskForCertificates()
    {
        var routes = new[] { new { PathPrefix = "/admin/", Pool = "default", ClientCertificates = Policy("Required") } };
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", _pki.WriteConfig("handoff", null, routes)]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Baton:Routes:0:ClientCertificates: a route by Host or path cannot ask for client certificates", result.StandardError);
    }

    private object Policy(string mode, string? crl = null) => new { Mode = mode, TrustedCaFiles = new[] { _ca.CertificateFile }, CrlFile = crl };

    private Task<BatonFront> StartAsync(string mode, string clientCertificates, string? crl = null) =>
        BatonFront.StartAsync(["--config", _pki.WriteConfig(mode, Policy(clientCertificates, crl))]);

    /// <summary>curl that must fail the handshake; without a URL among <paramref name="extra"/>, to https://localhost:port/.</summary>
    private static async Task<ProcessResult> CurlFailsAsync(int port, params string[] extra)
    {
        string[] target = extra.Any(e => e.StartsWith("https://", StringComparison.Ordinal))
            ? [] : ["--resolve", $"localhost:{port}:127.0.0.1", $"https://localhost:{port}/"];
        ProcessResult result = await ChildProcess.RunAsync("curl", ["-sS", "-k", "--max-time", "30", .. extra, .. target]);
        Assert.True(result.ExitCode != 0, $"curl should have failed: {result}");
        return result;
    }
}
