using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Baton.Tls;

internal enum SelfSignedKeyType
{
    EcdsaP256,
    Rsa2048,
}

/// <summary>
/// An in-memory self-signed server certificate (for local runs and tests): PEM certificate, PKCS#8 PEM key and
/// the SHA-256 fingerprint to log. The caller should wipe <see cref="PrivateKeyPem"/> once loaded.
/// </summary>
internal sealed class SelfSignedCertificate
{
    private SelfSignedCertificate(byte[] certificatePem, byte[] privateKeyPem, string sha256Fingerprint, string subject)
    {
        CertificatePem = certificatePem;
        PrivateKeyPem = privateKeyPem;
        Sha256Fingerprint = sha256Fingerprint;
        Subject = subject;
    }

    public byte[] CertificatePem { get; }

    public byte[] PrivateKeyPem { get; }

    /// <summary>Colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it.</summary>
    public string Sha256Fingerprint { get; }

    public string Subject { get; }

    /// <summary>
    /// A certificate for "localhost" (SAN: DNS localhost, IP 127.0.0.1 and ::1), or for the given DNS names
    /// (the first is the subject CN), valid from a day ago for a year.
    /// </summary>
    public static SelfSignedCertificate Create(SelfSignedKeyType keyType = SelfSignedKeyType.EcdsaP256, params string[] dnsNames)
    {
        string[] names = dnsNames.Length > 0 ? dnsNames : ["localhost"];
        using AsymmetricAlgorithm key = keyType == SelfSignedKeyType.Rsa2048 ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName("CN=" + names[0]);
        CertificateRequest request = key is RSA rsa
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
        AddServerExtensions(request, names, includeLoopback: dnsNames.Length == 0);

        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        byte[] certificatePem = Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n");
        string fingerprint = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));
        return new SelfSignedCertificate(certificatePem, ExportKeyPem(key), FormatFingerprint(fingerprint), certificate.Subject);
    }

    private static void AddServerExtensions(CertificateRequest request, string[] names, bool includeLoopback)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names) san.AddDnsName(name);
        if (includeLoopback)
        {
            san.AddIpAddress(IPAddress.Loopback);
            san.AddIpAddress(IPAddress.IPv6Loopback);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        X509KeyUsageFlags usage = request.PublicKey.Oid.Value == "1.2.840.113549.1.1.1"
            ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
            : X509KeyUsageFlags.DigitalSignature;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
    }

    /// <summary>PKCS#8 PEM through a char buffer that is wiped, so no key text is left in an immutable string.</summary>
    private static byte[] ExportKeyPem(AsymmetricAlgorithm key)
    {
        char[] chars = new char[8192];
        try
        {
            if (!key.TryExportPkcs8PrivateKeyPem(chars.AsSpan(0, chars.Length - 1), out int written))
            {
                throw new CryptographicException("The private key PEM did not fit the export buffer.");
            }
            // A final newline, as in PEM files, so the bytes can be concatenated or written out as they are.
            chars[written++] = '\n';
            return Encoding.ASCII.GetBytes(chars, 0, written);
        }
        finally
        {
            Array.Clear(chars);
        }
    }

    private static string FormatFingerprint(string hex) =>
        string.Join(':', Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(i * 2, 2)));
}
