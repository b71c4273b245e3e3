using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Baton.Configuration;

namespace Baton.Tls;

/// <summary>
/// Checks one configured certificate and key the way serving them will use them, so that a bad pair stops the
/// front at start with its configuration key named, instead of crashing every passthrough worker or failing
/// the first handshake.
/// </summary>
internal static class CertificateCheck
{
    /// <summary>A certificate this close to its expiry is warned about at start.</summary>
    public const int ExpiryWarningDays = 14;

    /// <summary>Adds what makes the pair unusable to <paramref name="problems"/>, and what still works but soon will not to <paramref name="warnings"/>.</summary>
    public static void Check(
        string prefix, CertificateOptions options, byte[] chainPem, byte[] keyPem, DateTimeOffset now, List<string> problems, List<string> warnings)
    {
        LoadedCertificate loaded;
        try
        {
            loaded = LoadedCertificate.Load(chainPem, keyPem);
        }
        catch (Interop.OpenSslException ex)
        {
            problems.Add(ex.Call.StartsWith("PEM_read_bio_PrivateKey", StringComparison.Ordinal)
                ? $"{prefix}:KeyFile: '{options.KeyFile}' holds no private key OpenSSL can read ({ex.Message})"
                : $"{prefix}:CertificateFile: '{options.CertificateFile}' holds no PEM certificate chain OpenSSL can read ({ex.Message})");
            return;
        }
        using (loaded)
        {
            if (!loaded.KeyMatchesCertificate())
                problems.Add($"{prefix}:KeyFile: the key in '{options.KeyFile}' does not belong to the certificate in '{options.CertificateFile}'");
            if (loaded.FirstCertificateNotIssuedByTheNext() is int position)
                problems.Add($"{prefix}:CertificateFile: certificate {position + 1} in '{options.CertificateFile}' did not issue certificate {position}: "
                    + "the file must hold the server's certificate first, then each issuer in order");
        }
        CheckDates($"{prefix}:CertificateFile", options.CertificateFile, chainPem, now, problems, warnings);
    }

    private static void CheckDates(string key, string file, byte[] chainPem, DateTimeOffset now, List<string> problems, List<string> warnings)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(Encoding.ASCII.GetString(chainPem));
            for (int i = 0; i < certificates.Count; i++)
            {
                X509Certificate2 certificate = certificates[i];
                string which = $"{(i == 0 ? "the certificate" : $"certificate {i + 1} (an issuer)")} in '{file}' ({certificate.Subject})";
                var notBefore = new DateTimeOffset(certificate.NotBefore);
                var notAfter = new DateTimeOffset(certificate.NotAfter);
                if (notAfter <= now)
                    problems.Add($"{key}: {which} expired on {Format(notAfter)}");
                else if (notBefore > now)
                    warnings.Add($"{key}: {which} is not valid before {Format(notBefore)}; clients refuse it until then");
                else if (notAfter - now < TimeSpan.FromDays(ExpiryWarningDays))
                    warnings.Add($"{key}: {which} expires on {Format(notAfter)}");
            }
        }
        catch (CryptographicException ex)
        {
            problems.Add($"{key}: '{file}' holds a certificate that cannot be read ({ex.Message})");
        }
        finally
        {
            foreach (X509Certificate2 certificate in certificates)
                certificate.Dispose();
        }
    }

    private static string Format(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
