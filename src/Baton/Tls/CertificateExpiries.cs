using System.Security.Cryptography.X509Certificates;
using System.Text;
using Baton.Diagnostics;

namespace Baton.Tls;

/// <summary>The expiry of each leaf certificate of a store, for the metrics' expiry gauge (read once per store).</summary>
internal static class CertificateExpiries
{
    public static IReadOnlyList<CertificateExpiry> Of(CertificateStore store) => store.Certificates.Select(material =>
    {
        // The store checked every chain at load: the first PEM block is the leaf and it parses.
        using X509Certificate2 leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(material.CertificateChainPem));
        string name = material.ServerNames.Length > 0 ? material.ServerNames[0] : leaf.Subject;
        return new CertificateExpiry(name, leaf.SerialNumber.ToLowerInvariant(), new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
    }).ToArray();
}
