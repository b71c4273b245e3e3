using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Tls;

/// <summary>The front reads and checks every certificate and key before any worker starts.</summary>
public sealed class CertificateStoreTests
{
    private static readonly byte[] Garbage = Encoding.ASCII.GetBytes("this is not PEM\n");

    private static (CertificateStore? Store, IReadOnlyList<string> Problems) Load(DateTimeOffset now, params (TempFile Chain, TempFile Key)[] pairs)
    {
        CertificateOptions[] configured = pairs.Select(p => new CertificateOptions { CertificateFile = p.Chain.Path, KeyFile = p.Key.Path }).ToArray();
        CertificateStore? store = CertificateStore.Load(configured, now, out IReadOnlyList<string> problems);
        return (store, problems);
    }

    [Fact]
    public void AGoodPairLoadsWithTheNamesInTheCertificate()
    {
        using TempFile chain = TempFile.WithBytes(TestCertificates.WildcardExample.CertificatePem);
        using TempFile key = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        (CertificateStore? store, IReadOnlyList<string> problems) = Load(DateTimeOffset.UtcNow, (chain, key));
        using (store)
        {
            Assert.Empty(problems);
            Assert.Equal(["*.example.test"], Assert.Single(store!.Certificates).ServerNames);
            Assert.Empty(store.Warnings);
        }
    }

    [Fact]
    public void AKeyThatDoesNotBelongToTheCertificateIsRefused()
    {
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile key = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        (CertificateStore? store, IReadOnlyList<string> problems) = Load(DateTimeOffset.UtcNow, (chain, key));
        Assert.Null(store);
        Assert.Equal([$"Baton:Certificates:0:KeyFile: the key in '{key.Path}' does not belong to the certificate in '{chain.Path}'"], problems);
    }

    [Fact]
    public void GarbageIsRefusedNamingTheFileItIsIn()
    {
        using TempFile goodChain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile goodKey = TempFile.WithBytes(TestCertificates.Localhost.PrivateKeyPem);
        using TempFile garbage = TempFile.WithBytes(Garbage);

        Assert.StartsWith(
            $"Baton:Certificates:0:CertificateFile: '{garbage.Path}' holds no PEM certificate chain OpenSSL can read (",
            Assert.Single(Load(DateTimeOffset.UtcNow, (garbage, goodKey)).Problems));
        Assert.StartsWith(
            $"Baton:Certificates:0:KeyFile: '{garbage.Path}' holds no private key OpenSSL can read (",
            Assert.Single(Load(DateTimeOffset.UtcNow, (goodChain, garbage)).Problems));
    }

    [Fact]
    public void AnExpiredCertificateIsRefusedAndOneCloseToExpiryOrNotYetValidIsWarned()
    {
        // The test certificate is valid from a day before the run for a year.
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile key = TempFile.WithBytes(TestCertificates.Localhost.PrivateKeyPem);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        Assert.Matches(
            $"^Baton:Certificates:0:CertificateFile: the certificate in '{chain.Path}' \\(CN=localhost\\) expired on \\d{{4}}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC$",
            Assert.Single(Load(now.AddYears(2), (chain, key)).Problems));

        (CertificateStore? expiring, IReadOnlyList<string> none) = Load(now.AddDays(360), (chain, key));
        using (expiring)
        {
            Assert.Empty(none);
            Assert.Contains(" expires on ", Assert.Single(expiring!.Warnings));
        }
        (CertificateStore? early, _) = Load(now.AddDays(-2), (chain, key));
        using (early)
            Assert.Contains(" is not valid before ", Assert.Single(early!.Warnings));
    }

    [Fact]
    public void TheChainMustRunFromTheServersCertificateThroughItsIssuers()
    {
        (byte[] leaf, byte[] leafKey, byte[] issuer) = IssuedCertificate();
        using TempFile key = TempFile.WithBytes(leafKey);
        using TempFile inOrder = TempFile.WithBytes([.. leaf, .. issuer]);
        using TempFile wrongIssuer = TempFile.WithBytes([.. leaf, .. TestCertificates.Localhost.CertificatePem]);

        (CertificateStore? store, IReadOnlyList<string> problems) = Load(DateTimeOffset.UtcNow, (inOrder, key));
        using (store)
            Assert.Empty(problems);
        Assert.Equal(
            [$"Baton:Certificates:0:CertificateFile: certificate 2 in '{wrongIssuer.Path}' did not issue certificate 1: the file must hold the server's certificate first, then each issuer in order"],
            Load(DateTimeOffset.UtcNow, (wrongIssuer, key)).Problems);
    }

    [Fact]
    public void EveryCertificateIsCheckedAndEachProblemNamesItsIndex()
    {
        using TempFile garbage = TempFile.WithBytes(Garbage);
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile otherKey = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);

        IReadOnlyList<string> problems = Load(DateTimeOffset.UtcNow, (garbage, otherKey), (chain, otherKey)).Problems;

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("Baton:Certificates:0:CertificateFile: ", problems[0]);
        Assert.StartsWith("Baton:Certificates:1:KeyFile: ", problems[1]);
    }

    /// <summary>A server certificate for leaf.test issued by a small CA: the leaf PEM, its key PEM and the CA's PEM.</summary>
    private static (byte[] Leaf, byte[] LeafKey, byte[] Issuer) IssuedCertificate()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Baton Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

        using ECDsa leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=leaf.test", leafKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("leaf.test");
        leafRequest.CertificateExtensions.Add(names.Build());
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using X509Certificate2 leaf = leafRequest.Create(ca, now.AddDays(-1), now.AddDays(90), [1, 2, 3, 4]);

        return (Pem(leaf.ExportCertificatePem()), Pem(leafKey.ExportPkcs8PrivateKeyPem()), Pem(ca.ExportCertificatePem()));
    }

    private static byte[] Pem(string text) => Encoding.ASCII.GetBytes(text + "\n");
}
