using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// OCSP stapling from a file: a good response made by `openssl ocsp` (an index.txt CA) is stapled, as `openssl s_client
/// -status` sees, in both modes; an expired one (made with python3's cryptography, which can date it in the past) is not,
/// with a warning; and the front picks up a file that changes while it runs.
/// </summary>
public sealed class OcspStaplingTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Authority _ca;
    private readonly TestPki.Issued _server;
    private readonly string _chainFile;

    public OcspStaplingTests()
    {
        _ca = _pki.CreateAuthority("server-ca");
        _server = _ca.Issue("localhost", dnsName: "localhost");
        _chainFile = _pki.PathOf("localhost-chain.pem");
        File.WriteAllText(_chainFile, File.ReadAllText(_server.CertificateFile) + File.ReadAllText(_ca.CertificateFile));
    }

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task AGoodResponseIsStapled(string mode)
    {
        string response = await GoodResponseAsync();
        await using BatonFront front = await BatonFront.StartAsync(["--config", Config(mode, response)]);
        string status = await StatusAsync(front.Port);
        Assert.Contains("OCSP Response Status: successful", status);
        Assert.Contains("Cert Status: good", status);
    }

    [Theory]
    [InlineData("handoff")]
    [InlineData("passthrough")]
    public async Task AnExpiredResponseIsNotStapled(string mode)
    {
        string response = await ExpiredResponseAsync();
        await using BatonFront front = await BatonFront.StartAsync(["--config", Config(mode, response)]);
        await front.WaitForOutputAsync("not stapled: it is outside its validity window");
        Assert.Contains("OCSP response: no response sent", await StatusAsync(front.Port));
    }

    [Fact]
    public async Task TheFrontStaplesAResponseWrittenWhileItRuns()
    {
        string response = _pki.PathOf("later.der");
        await using BatonFront front = await BatonFront.StartAsync(["--config", Config("handoff", response)]);
        await front.WaitForOutputAsync("not stapled: cannot read");
        Assert.Contains("OCSP response: no response sent", await StatusAsync(front.Port));

        File.Copy(await GoodResponseAsync(), response);
        string status = "";
        await Wait.UntilAsync(() => (status = StatusAsync(front.Port).GetAwaiter().GetResult()).Contains("Cert Status: good"),
            "the front staples the new file", TimeSpan.FromSeconds(30));
        await front.WaitForOutputAsync("stapled from " + response);
    }

    private static async Task<string> StatusAsync(int port)
    {
        ProcessResult result = await ChildProcess.RunAsync("openssl",
            ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-status"], input: "");
        return result.Output;
    }

    /// <summary>A response from `openssl ocsp` acting as the CA's responder over an index.txt that lists the server certificate as valid.</summary>
    private async Task<string> GoodResponseAsync()
    {
        string index = _pki.PathOf("index.txt");
        string serial = _server.Certificate.SerialNumber;
        await File.WriteAllTextAsync(index, $"V\t{_server.Certificate.NotAfter.ToUniversalTime():yyMMddHHmmss}Z\t\t{serial}\tunknown\t/CN=localhost\n");
        string request = _pki.PathOf("request.der");
        string response = _pki.PathOf($"good-{Guid.NewGuid():n}.der");
        await RunAsync("openssl", "ocsp", "-issuer", _ca.CertificateFile, "-cert", _server.CertificateFile, "-reqout", request, "-no_nonce");
        await RunAsync("openssl", "ocsp", "-index", index, "-rsigner", _ca.CertificateFile, "-rkey", _ca.KeyFile, "-CA", _ca.CertificateFile,
            "-reqin", request, "-respout", response, "-ndays", "1");
        return response;
    }

    /// <summary>A good response whose validity window ended yesterday.</summary>
    private async Task<string> ExpiredResponseAsync()
    {
        const string script = """
            import datetime, sys
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.x509 import ocsp
            cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
            issuer = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
            key = serialization.load_pem_private_key(open(sys.argv[3], "rb").read(), None)
            now = datetime.datetime.now(datetime.timezone.utc)
            builder = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=issuer, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now - datetime.timedelta(days=2), next_update=now - datetime.timedelta(days=1),
                revocation_time=None, revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
            open(sys.argv[4], "wb").write(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
            """;
        string response = _pki.PathOf("expired.der");
        await RunAsync("python3", "-c", script, _server.CertificateFile, _ca.CertificateFile, _ca.KeyFile, response);
        return response;
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        ProcessResult result = await ChildProcess.RunAsync(program, arguments);
        Assert.True(result.ExitCode == 0, $"{program} failed: {result}");
    }

    private string Config(string mode, string ocspResponseFile)
    {
        string path = _pki.PathOf($"baton-{Guid.NewGuid():n}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = 1, Mode = mode } },
                Certificates = new[] { new { CertificateFile = _chainFile, KeyFile = _server.KeyFile, OcspResponseFile = ocspResponseFile } },
            },
        }));
        return path;
    }
}
