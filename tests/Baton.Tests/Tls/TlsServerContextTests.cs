using System.Text;
using System.Security.Cryptography.X509Certificates;

namespace Baton.Tests.Tls;

public sealed class TlsServerContextTests
{
    [Fact]
    public void LoadsAChainWithIntermediates()
    {
        // Leaf followed by two more certificates: all are parsed, none is dropped as "end of chain".
        byte[] chain = [.. TestCertificates.Localhost.CertificatePem, .. TestCertificates.WildcardExample.CertificatePem,
            .. TestCertificates.ApiOtherRsa.CertificatePem];
        var options = new TlsServerOptions();
        options.Certificates.Add(new TlsCertificate(["localhost"], chain, TestCertificates.Localhost.PrivateKeyPem));

        using TlsServerContext context = TlsServerContext.Create(options);
    }

    [Fact]
    public void GarbageCertificatePemNamesTheFailingCall()
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(new TlsCertificate(["localhost"], "not a certificate"u8.ToArray(), TestCertificates.Localhost.PrivateKeyPem));

        Interop.OpenSslException e = Assert.Throws<Interop.OpenSslException>(() => TlsServerContext.Create(options));
        Assert.Contains("PEM_read_bio_X509_AUX", e.Message);
        Assert.Contains("no start line", e.Message);
    }

    [Fact]
    public void TruncatedIntermediateIsAnErrorNotTheEndOfTheChain()
    {
        byte[] intermediate = TestCertificates.WildcardExample.CertificatePem;
        byte[] chain = [.. TestCertificates.Localhost.CertificatePem, .. intermediate.AsSpan(0, intermediate.Length / 2)];
        var options = new TlsServerOptions();
        options.Certificates.Add(new TlsCertificate(["localhost"], chain, TestCertificates.Localhost.PrivateKeyPem));

        Interop.OpenSslException e = Assert.Throws<Interop.OpenSslException>(() => TlsServerContext.Create(options));
        Assert.Contains("intermediate", e.Message);
    }

    [Fact]
    public void KeyThatDoesNotMatchTheCertificateIsRefused()
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(new TlsCertificate(["localhost"], TestCertificates.Localhost.CertificatePem,
            TestCertificates.WildcardExample.PrivateKeyPem));

        Interop.OpenSslException e = Assert.Throws<Interop.OpenSslException>(() => TlsServerContext.Create(options));
        Assert.Contains("SSL_CTX_use_cert_and_key", e.Message);
    }

    [Fact]
    public void EncryptedKeyFailsInsteadOfPrompting()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        string encrypted = rsa.ExportEncryptedPkcs8PrivateKeyPem("secret", new System.Security.Cryptography.PbeParameters(
            System.Security.Cryptography.PbeEncryptionAlgorithm.Aes128Cbc, System.Security.Cryptography.HashAlgorithmName.SHA256, 1000));
        var options = new TlsServerOptions();
        options.Certificates.Add(new TlsCertificate(["localhost"], TestCertificates.Localhost.CertificatePem, Encoding.ASCII.GetBytes(encrypted)));

        Interop.OpenSslException e = Assert.Throws<Interop.OpenSslException>(() => TlsServerContext.Create(options));
        Assert.Contains("PEM_read_bio_PrivateKey", e.Message);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("*.")]
    [InlineData("a.*.example.com")]
    [InlineData("ex ample.com")]
    [InlineData("example..com")]
    [InlineData("bücher.example")]
    public void InvalidServerNamePatternsAreRefused(string pattern)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.Localhost, pattern));

        Assert.Throws<ArgumentException>(() => TlsServerContext.Create(options));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long-a-protocol-name-that-is-way-too-long")]
    public void InvalidAlpnProtocolsAreRefused(string protocol)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.Localhost));
        options.ApplicationProtocols.Add(protocol);

        Assert.Throws<ArgumentException>(() => TlsServerContext.Create(options));
    }

    [Fact]
    public void NoCertificateIsRefused() =>
        Assert.Throws<ArgumentException>(() => TlsServerContext.Create(new TlsServerOptions()));

    [Fact]
    public void SelectorMatchesExactNamesBeforeWildcardsAndOneLabelOnly()
    {
        LoadedCertificate exact = LoadedCertificate.Load(TestCertificates.Localhost.CertificatePem, TestCertificates.Localhost.PrivateKeyPem);
        LoadedCertificate wildcard = LoadedCertificate.Load(TestCertificates.WildcardExample.CertificatePem, TestCertificates.WildcardExample.PrivateKeyPem);
        try
        {
            var selector = new CertificateSelector();
            selector.Add("*.example.test", wildcard);
            selector.Add("api.example.test", exact);
            selector.Add("API.example.test", wildcard);

            Assert.Same(exact, selector.Find("api.example.test"u8));
            Assert.Same(exact, selector.Find("API.Example.Test"u8));
            Assert.Same(wildcard, selector.Find("www.example.test"u8));
            Assert.Null(selector.Find("a.b.example.test"u8));
            Assert.Null(selector.Find("example.test"u8));
            Assert.Null(selector.Find(".example.test"u8));
            Assert.Null(selector.Find("b\u00fccher.example.test"u8));
            Assert.Null(selector.Find(new byte[256]));
            Assert.Null(selector.Find(""u8));
        }
        finally
        {
            exact.Dispose();
            wildcard.Dispose();
        }
    }

    [Fact]
    public void SelfSignedCertificateHasTheLocalhostNamesAndAFingerprint()
    {
        SelfSignedCertificate certificate = TestCertificates.Localhost;
        using var x509 = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
            Encoding.ASCII.GetString(certificate.CertificatePem), Encoding.ASCII.GetString(certificate.PrivateKeyPem));

        Assert.True(x509.MatchesHostname("localhost"));
        Assert.True(x509.MatchesHostname("127.0.0.1"));
        Assert.True(x509.MatchesHostname("::1"));
        Assert.NotNull(x509.GetECDsaPublicKey());
        Assert.Equal(certificate.Sha256Fingerprint.Replace(":", ""), x509.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256));
        Assert.Contains("BEGIN PRIVATE KEY", Encoding.ASCII.GetString(certificate.PrivateKeyPem));
        using var rsa = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
            Encoding.ASCII.GetString(TestCertificates.LocalhostRsa.CertificatePem));
        Assert.Equal(2048, rsa.GetRSAPublicKey()!.KeySize);
    }
}
