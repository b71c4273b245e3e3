using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Baton.Tls;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// A front's files in a directory of their own, changed as an operator (or an ACME client) changes them: the
/// configuration, and a certificate and key replaced by renaming new files over them.
/// </summary>
internal sealed class ReloadSite : IDisposable
{
    private ReloadSite(string directory)
    {
        Directory = directory;
        Config = Path.Combine(directory, "baton.json");
        CertificateFile = Path.Combine(directory, "cert.pem");
        KeyFile = Path.Combine(directory, "key.pem");
    }

    public string Directory { get; }
    public string Config { get; }
    public string CertificateFile { get; }
    public string KeyFile { get; }

    /// <summary>A site with a fresh certificate and a configuration holding <paramref name="baton"/> plus that certificate.</summary>
    public static ReloadSite Create(Dictionary<string, object> baton)
    {
        var site = new ReloadSite(System.IO.Directory.CreateTempSubdirectory("baton-reload-").FullName);
        site.ReplaceCertificate();
        site.WriteConfig(baton);
        return site;
    }

    /// <summary>The "Baton" section, with this site's certificate unless it names its own.</summary>
    public void WriteConfig(Dictionary<string, object> baton)
    {
        var section = new Dictionary<string, object>(baton);
        section.TryAdd("Certificates", new[] { new { CertificateFile, KeyFile } });
        WriteAtomically(Config, JsonSerializer.SerializeToUtf8Bytes(new { Baton = section }));
    }

    public void WriteRawConfig(string json) => WriteAtomically(Config, System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>A new certificate for localhost (key first, then certificate, each renamed into place); returns its serial.</summary>
    public string ReplaceCertificate()
    {
        SelfSignedCertificate certificate = SelfSignedCertificate.Create();
        WriteAtomically(KeyFile, certificate.PrivateKeyPem);
        WriteAtomically(CertificateFile, certificate.CertificatePem);
        return Serial(certificate.CertificatePem);
    }

    public static string Serial(byte[] certificatePem)
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(certificatePem));
        return certificate.SerialNumber;
    }

    private static void WriteAtomically(string path, byte[] contents)
    {
        string temporary = path + ".new";
        File.WriteAllBytes(temporary, contents);
        File.Move(temporary, path, overwrite: true);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
