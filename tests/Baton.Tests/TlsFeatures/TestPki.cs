using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// Real certificates for the mTLS and OCSP tests, made with .NET's CertificateRequest in a temporary directory: CAs, client
/// and server certificates signed by them (PEM files, as an operator has them), CRLs. Deleted on dispose.
/// </summary>
public sealed class TestPki : IDisposable
{
    public TestPki() => Directory = System.IO.Directory.CreateTempSubdirectory("baton-pki-").FullName;

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>A self-signed CA; its certificate is written to <c>name.pem</c>.</summary>
    public Authority CreateAuthority(string name)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        string file = PathOf($"{name}.pem");
        string keyFile = PathOf($"{name}.key");
        File.WriteAllText(file, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new Authority(this, name, certificate, file, keyFile);
    }

    public sealed class Authority(TestPki pki, string name, X509Certificate2 certificate, string file, string keyFile)
    {
        private long _serial = 1;

        public X509Certificate2 Certificate { get; } = certificate;

        public string CertificateFile { get; } = file;

        public string KeyFile { get; } = keyFile;

        /// <summary>A client (or, with <paramref name="dnsName"/>, server) certificate: <c>name.pem</c> and <c>name.key</c>.</summary>
        public Issued Issue(string subject, string? dnsName = null, DateTimeOffset? notAfter = null)
        {
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [dnsName is null ? new Oid("1.3.6.1.5.5.7.3.2") : new Oid("1.3.6.1.5.5.7.3.1")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
            if (dnsName is not null)
            {
                var names = new SubjectAlternativeNameBuilder();
                names.AddDnsName(dnsName);
                request.CertificateExtensions.Add(names.Build());
            }
            byte[] serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial));
            Array.Reverse(serial);
            using X509Certificate2 issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddHours(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(30), serial);
            X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
            string certificateFile = pki.PathOf($"{subject}.pem");
            string keyFile = pki.PathOf($"{subject}.key");
            File.WriteAllText(certificateFile, withKey.ExportCertificatePem() + "\n");
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
            return new Issued(withKey, certificateFile, keyFile);
        }

        /// <summary>A CRL of this CA revoking <paramref name="revoked"/>, written to <c>name.crl.pem</c>.</summary>
        public string WriteCrl(params X509Certificate2[] revoked)
        {
            var builder = new CertificateRevocationListBuilder();
            foreach (X509Certificate2 certificate in revoked)
                builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-5));
            byte[] crl = builder.Build(Certificate, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256);
            string path = pki.PathOf($"{name}.crl.pem");
            File.WriteAllText(path, PemEncoding.WriteString("X509 CRL", crl) + "\n");
            return path;
        }
    }

    public sealed record Issued(X509Certificate2 Certificate, string CertificateFile, string KeyFile);

    /// <summary>A front configuration file: one listener asking for <paramref name="clientCertificates"/>, one pool, routes and certificates.</summary>
    public string WriteConfig(string mode, object? clientCertificates, object? routes = null, object? certificates = null, int workers = 1)
    {
        string path = PathOf($"baton-{Guid.NewGuid():n}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0", ClientCertificates = clientCertificates } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = workers, Mode = mode } },
                Routes = routes ?? Array.Empty<object>(),
                Certificates = certificates ?? Array.Empty<object>(),
            },
        }));
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
