using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Tls;

/// <summary>
/// The certificates and keys of this front, read once at start (or made in memory when none are
/// configured). Only the front holds them; passthrough workers get copies over their channel.
/// Key bytes are wiped on dispose.
/// </summary>
internal sealed class CertificateStore : IDisposable
{
    private CertificateStore(IReadOnlyList<CertificateMaterial> certificates) => Certificates = certificates;

    public IReadOnlyList<CertificateMaterial> Certificates { get; }

    public static CertificateStore Load(IReadOnlyList<CertificateOptions> configured, ILogger logger)
    {
        if (configured.Count == 0)
        {
            SelfSignedCertificate selfSigned = SelfSignedCertificate.Create();
            logger.SelfSignedCertificate(selfSigned.Sha256Fingerprint);
            return new CertificateStore([new CertificateMaterial
            {
                ServerNames = ["localhost"],
                CertificateChainPem = selfSigned.CertificatePem,
                PrivateKeyPem = selfSigned.PrivateKeyPem,
            }]);
        }
        return new CertificateStore(configured.Select(c =>
        {
            byte[] chain = File.ReadAllBytes(c.CertificateFile);
            return new CertificateMaterial
            {
                ServerNames = c.ServerNames.Count > 0 ? [.. c.ServerNames] : NamesInCertificate(chain, c.CertificateFile),
                CertificateChainPem = chain,
                PrivateKeyPem = File.ReadAllBytes(c.KeyFile),
            };
        }).ToList());
    }

    /// <summary>The DNS names of the leaf certificate (subjectAltName, else the common name).</summary>
    private static string[] NamesInCertificate(byte[] chainPem, string file)
    {
        using X509Certificate2 leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(chainPem));
        string[] names = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(san => san.EnumerateDnsNames()).ToArray();
        if (names.Length == 0 && leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } commonName)
            names = [commonName];
        return names.Length > 0 ? names : throw new InvalidDataException($"{file}: the certificate names no host; set ServerNames for it");
    }

    public void Dispose()
    {
        foreach (CertificateMaterial certificate in Certificates)
            certificate.Wipe();
    }
}
