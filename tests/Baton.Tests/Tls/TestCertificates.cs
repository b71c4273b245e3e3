
namespace Baton.Tests.Tls;

/// <summary>Certificates generated once per test run (RSA key generation is slow on 2 cores).</summary>
internal static class TestCertificates
{
    public static readonly SelfSignedCertificate Localhost = SelfSignedCertificate.Create();
    public static readonly SelfSignedCertificate LocalhostRsa = SelfSignedCertificate.Create(SelfSignedKeyType.Rsa2048);
    public static readonly SelfSignedCertificate WildcardExample = SelfSignedCertificate.Create(SelfSignedKeyType.EcdsaP256, "*.example.test");
    public static readonly SelfSignedCertificate ApiOtherRsa = SelfSignedCertificate.Create(SelfSignedKeyType.Rsa2048, "api.other.test");

    public static TlsCertificate ToTlsCertificate(SelfSignedCertificate certificate, params string[] names) =>
        new(names.Length > 0 ? names : ["localhost"], certificate.CertificatePem, certificate.PrivateKeyPem);

    public static TlsServerContext Context(SelfSignedCertificate certificate, params string[] alpn)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(ToTlsCertificate(certificate));
        foreach (string protocol in alpn) options.ApplicationProtocols.Add(protocol);
        return TlsServerContext.Create(options);
    }

    /// <summary>Lower-case hex without colons, as python's hashlib prints it.</summary>
    public static string HexFingerprint(SelfSignedCertificate certificate) =>
        certificate.Sha256Fingerprint.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
}
