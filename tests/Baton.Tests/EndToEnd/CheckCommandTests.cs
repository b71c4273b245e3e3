using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Baton.Tests.Infrastructure;
using Baton.Tests.Tls;

namespace Baton.Tests.EndToEnd;

/// <summary>`baton check --config FILE` (nginx -t): the start's checks without a start; every problem printed, exit 0 or 1.</summary>
public sealed class CheckCommandTests
{
    private static Task<ProcessResult> CheckAsync(string config) =>
        ChildProcess.RunAsync(BatonFront.Executable, ["check", "--config", config], timeout: TimeSpan.FromSeconds(60));

    [Fact]
    public async Task AGoodConfigurationPassesAndNothingStarts()
    {
        using ReloadSite site = ReloadSite.Create(new() { ["Listeners"] = new[] { new { Address = "127.0.0.1:0" } } });

        ProcessResult result = await CheckAsync(site.Config);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"baton: {site.Config}: configuration OK: 1 listener(s), 1 pool(s), 1 certificate(s)", result.StandardOutput);
        Assert.DoesNotContain("worker started", result.Output);
    }

    [Fact]
    public async Task EveryProblemIsPrintedWithItsKey()
    {
        using TempFile otherKey = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        string missing = Path.Combine(Path.GetTempPath(), $"baton-missing-{Guid.NewGuid():N}.pem");
        using TempFile config = TempFile.Config(new
        {
            Pools = new { @default = new { Workers = 0 } },
            Certificates = new[] { new { CertificateFile = chain.Path, KeyFile = otherKey.Path }, new { CertificateFile = missing, KeyFile = otherKey.Path } },
        });

        ProcessResult result = await CheckAsync(config.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("baton: invalid configuration: Baton:Pools:default:Workers:", result.StandardError);
        Assert.Contains($"baton: invalid configuration: Baton:Certificates:1:CertificateFile: file '{missing}' does not exist", result.StandardError);
    }

    [Fact]
    public async Task AKeyThatDoesNotMatchAndAnExpiredCertificateAreBothNamed()
    {
        using TempFile otherKey = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        (byte[] expiredChain, byte[] expiredKey) = Expired();
        using TempFile expired = TempFile.WithBytes(expiredChain);
        using TempFile expiredKeyFile = TempFile.WithBytes(expiredKey);
        using TempFile config = TempFile.Config(new
        {
            Certificates = new[]
            {
                new { CertificateFile = chain.Path, KeyFile = otherKey.Path },
                new { CertificateFile = expired.Path, KeyFile = expiredKeyFile.Path },
            },
        });

        ProcessResult result = await CheckAsync(config.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Baton:Certificates:0:KeyFile: the key in '{otherKey.Path}' does not belong to the certificate", result.StandardError);
        Assert.Contains("Baton:Certificates:1:CertificateFile:", result.StandardError);
        Assert.Contains("expired", result.StandardError);
    }

    [Fact]
    public async Task AMalformedFileIsOneLineAndExitOne()
    {
        using TempFile config = TempFile.WithText("{ \"Baton\": { \"Pools\": \n");

        ProcessResult result = await CheckAsync(config.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"baton: invalid configuration: {config.Path}: line 2, column 1: ", result.StandardError);
    }

    /// <summary>A certificate for localhost that expired yesterday, and its key.</summary>
    private static (byte[] Chain, byte[] Key) Expired()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        return (System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()), System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
    }
}
