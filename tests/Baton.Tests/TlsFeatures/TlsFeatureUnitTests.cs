using System.Security.Cryptography;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// The pieces under the three features, without a front: the ring's export and replacement, the OCSP check against the
/// certificate it is for, and the configuration checks of client-certificate settings (files that are missing or do not parse).
/// </summary>
public sealed class TlsFeatureUnitTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public void ARingExportsItsKeysAndEveryChangeMovesItsVersion()
    {
        var time = new ManualTime();
        var ring = TicketKeyRing.CreateRotating(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), time);
        byte[] first = ring.ExportKeys(out long before);
        Assert.Equal(80, first.Length);
        Assert.Equal(before, ring.CurrentVersion());

        time.Advance(TimeSpan.FromMinutes(2));
        byte[] rotated = ring.ExportKeys(out long after);
        Assert.NotEqual(before, after);
        Assert.Equal(160, rotated.Length);
        Assert.Equal(first, rotated[80..]); // the old key still decrypts, after the new one

        byte[] replacement = RandomNumberGenerator.GetBytes(80);
        ring.ReplaceKeys(replacement);
        Assert.Equal(replacement, ring.ExportKeys(out long replaced));
        Assert.NotEqual(after, replaced);
    }

    [Fact]
    public void ARotatingRingKeepsAtMostAKeyFilesWorthOfKeys()
    {
        var time = new ManualTime();
        var ring = TicketKeyRing.CreateRotating(TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), time);
        for (int i = 0; i < 100; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            ring.CurrentVersion();
        }
        Assert.Equal(SessionTicketOptions.MaxKeys * 80, ring.ExportKeys(out _).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(79)]
    [InlineData(65 * 80)]
    public void ARingRefusesKeysThatAreNotWholeEntries(int length)
    {
        var ring = TicketKeyRing.FromKeys(new byte[80]);
        Assert.Throws<ArgumentException>(() => ring.ReplaceKeys(new byte[length]));
    }

    [Fact]
    public void AnOcspResponseForAnotherCertificateOrNotDerIsNotStapled()
    {
        TestPki.Authority ca = _pki.CreateAuthority("ca");
        TestPki.Issued server = ca.Issue("server", dnsName: "localhost");
        byte[] chain = [.. File.ReadAllBytes(server.CertificateFile), .. File.ReadAllBytes(ca.CertificateFile)];
        using LoadedCertificate loaded = LoadedCertificate.Load(chain, File.ReadAllBytes(server.KeyFile));

        Assert.Contains("not one DER OCSP response", OcspResponseCheck.Check("garbage"u8, loaded).Problem);
        Assert.Contains("1..", OcspResponseCheck.Check([], loaded).Problem);
        // A DER SEQUENCE that is no OCSP response.
        Assert.Contains("not one DER OCSP response", OcspResponseCheck.Check(server.Certificate.RawData, loaded).Problem);
    }

    [Fact]
    public void ClientCertificateSettingsWithMissingOrBrokenFilesStopTheStart()
    {
        File.WriteAllText(_pki.PathOf("broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var options = new BatonOptions
        {
            Listeners =
            [
                new ListenerOptions { Name = "a", Address = "127.0.0.1:1", ClientCertificates = new() { Mode = ClientCertificateMode.Required } },
                new ListenerOptions { Name = "b", Address = "127.0.0.1:2", ClientCertificates = new() { Mode = ClientCertificateMode.Optional, TrustedCaFiles = [_pki.PathOf("nope.pem")], VerifyDepth = 0 } },
            ],
        };
        BatonOptionsValidator.ApplyDefaults(options);
        IReadOnlyList<string> problems = BatonOptionsValidator.Validate(options);
        Assert.Contains(problems, p => p.StartsWith("Baton:Listeners:0:ClientCertificates:TrustedCaFiles: mode Required needs at least one CA file", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Baton:Listeners:1:ClientCertificates:TrustedCaFiles:0: file", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Baton:Listeners:1:ClientCertificates:VerifyDepth: must be between 1 and 16", StringComparison.Ordinal));

        var broken = new ClientCertificateOptions { Mode = ClientCertificateMode.Required, TrustedCaFiles = [_pki.PathOf("broken.pem")] };
        Assert.Null(CertificateStore.Load([], DateTimeOffset.UtcNow, out IReadOnlyList<string> loadProblems, [("Listeners:0:ClientCertificates", broken)]));
        Assert.StartsWith("Baton:Listeners:0:ClientCertificates: the CA or CRL files do not parse", Assert.Single(loadProblems));
    }

    [Fact]
    public void TheRouterPicksTheSniRoutesSettingOverItsListeners()
    {
        var listener = new ClientCertificateOptions { Mode = ClientCertificateMode.Optional, TrustedCaFiles = ["a"] };
        var secure = new ClientCertificateOptions { Mode = ClientCertificateMode.Required, TrustedCaFiles = ["b"] };
        var options = new BatonOptions
        {
            Listeners = [new ListenerOptions { Name = "public", Address = "127.0.0.1:1", ClientCertificates = listener }],
            Routes =
            [
                new RouteOptions { ServerNames = ["secure.example"], Pool = "default", ClientCertificates = secure },
                new RouteOptions { ServerNames = ["open.example"], Pool = "default", ClientCertificates = new() },
                new RouteOptions { ServerNames = ["plain.example"], Pool = "default" },
            ],
        };
        var router = new RouteTable(options);
        Assert.Equal(2, router.ClientCertificatePolicy("public", "secure.example"));
        Assert.Equal(0, router.ClientCertificatePolicy("public", "open.example"));
        Assert.Equal(1, router.ClientCertificatePolicy("public", "plain.example"));
        Assert.Equal(1, router.ClientCertificatePolicy("public", null));
        Assert.Equal(0, router.ClientCertificatePolicy("other", "plain.example"));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
