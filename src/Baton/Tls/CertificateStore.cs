using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Baton.Channel;
using Baton.Configuration;

namespace Baton.Tls;

/// <summary>
/// The certificates and keys of this front, read and checked once at start, before any worker is started (or
/// made in memory when none are configured). Only the front holds them; passthrough workers get copies over
/// their channel. Key bytes are wiped on dispose.
/// </summary>
internal sealed partial class CertificateStore : IDisposable
{
    private CertificateStore(IReadOnlyList<CertificateMaterial> certificates, IReadOnlyList<string> warnings, string? selfSignedFingerprint)
    {
        Certificates = certificates;
        Warnings = warnings;
        SelfSignedFingerprint = selfSignedFingerprint;
    }

    public IReadOnlyList<CertificateMaterial> Certificates { get; }

    /// <summary>What works but will not for long (a certificate close to its expiry), for the front to log.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The fingerprint of the certificate made in memory, when none is configured.</summary>
    public string? SelfSignedFingerprint { get; }

    /// <summary>
    /// Reads and checks every configured pair (see <see cref="CertificateCheck"/>) and the CAs and CRLs of every
    /// client-certificate setting (<see cref="ClientCertificatePolicies.From"/>); null, with every problem, when any is unusable.
    /// </summary>
    public static CertificateStore? Load(
        IReadOnlyList<CertificateOptions> configured, DateTimeOffset now, out IReadOnlyList<string> problems,
        IReadOnlyList<(string Key, ClientCertificateOptions Options)>? clientCertificates = null)
    {
        problems = [];
        var clientProblems = new List<string>();
        IReadOnlyList<ClientCertificateMaterial> clientMaterial = ReadClientCertificates(clientCertificates ?? [], clientProblems);
        if (clientProblems.Count > 0)
        {
            problems = clientProblems;
            return null;
        }
        if (configured.Count == 0)
        {
            SelfSignedCertificate selfSigned = SelfSignedCertificate.Create();
            CertificateMaterial material = new()
            {
                ServerNames = ["localhost"],
                CertificateChainPem = selfSigned.CertificatePem,
                PrivateKeyPem = selfSigned.PrivateKeyPem,
            };
            return new CertificateStore([material], [], selfSigned.Sha256Fingerprint) { ClientCertificates = clientMaterial };
        }
        var found = new List<string>();
        var warnings = new List<string>();
        var certificates = new List<CertificateMaterial>();
        var ocsp = new List<OcspResponseSource?>();
        for (int i = 0; i < configured.Count; i++)
        {
            if (Read($"{BatonOptions.SectionName}:Certificates:{i}", configured[i], now, found, warnings) is CertificateMaterial material)
            {
                certificates.Add(material);
                ocsp.Add(configured[i].OcspResponseFile is string file ? new OcspResponseSource(file, null) : null);
            }
        }
        problems = found;
        if (found.Count == 0)
            return new CertificateStore(certificates, warnings, null) { ClientCertificates = clientMaterial, OcspResponses = ocsp };
        foreach (CertificateMaterial certificate in certificates)
            certificate.Wipe();
        return null;
    }

    private static CertificateMaterial? Read(string prefix, CertificateOptions options, DateTimeOffset now, List<string> problems, List<string> warnings)
    {
        if (ReadFile($"{prefix}:CertificateFile", options.CertificateFile, problems) is not byte[] chain
            || ReadFile($"{prefix}:KeyFile", options.KeyFile, problems) is not byte[] key)
            return null;
        int before = problems.Count;
        CertificateCheck.Check(prefix, options, chain, key, now, problems, warnings);
        if (problems.Count == before)
        {
            var material = new CertificateMaterial
            {
                ServerNames = options.ServerNames.Count > 0 ? [.. options.ServerNames] : NamesInCertificate(chain),
                CertificateChainPem = chain,
                PrivateKeyPem = key,
            };
            // Problem() is what the channel to a passthrough worker can carry: past it, every worker launch would fail.
            string? problem = material.ServerNames.Length == 0
                ? $"{prefix}:ServerNames: the certificate in '{options.CertificateFile}' names no host; set ServerNames for it"
                : material.Problem() is string tooLarge ? $"{prefix}: {tooLarge}" : null;
            if (problem is null)
                return material;
            problems.Add(problem);
        }
        CryptographicOperations.ZeroMemory(key);
        return null;
    }

    private static byte[]? ReadFile(string key, string file, List<string> problems)
    {
        try
        {
            return File.ReadAllBytes(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{key}: cannot read '{file}': {ex.Message}");
            return null;
        }
    }

    /// <summary>The DNS names of the leaf certificate (subjectAltName, else the common name); none when it names no host.</summary>
    private static string[] NamesInCertificate(byte[] chainPem)
    {
        using X509Certificate2 leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(chainPem));
        string[] names = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(san => san.EnumerateDnsNames()).ToArray();
        if (names.Length == 0 && leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } commonName)
            names = [commonName];
        return names;
    }

    public void Dispose()
    {
        foreach (CertificateMaterial certificate in Certificates)
            certificate.Wipe();
    }
}
