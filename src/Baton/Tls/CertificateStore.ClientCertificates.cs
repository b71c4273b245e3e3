using Baton.Channel;
using Baton.Configuration;

namespace Baton.Tls;

internal sealed partial class CertificateStore
{
    /// <summary>The room client-certificate settings may take in a passthrough worker's Configure message, besides the certificates.</summary>
    internal const int MaxClientCertificateBytes = 128 * 1024;

    /// <summary>The client-certificate settings, numbered from 1 in this order (<see cref="ClientCertificatePolicies"/>): their CAs and CRLs, read and parsed.</summary>
    public IReadOnlyList<ClientCertificateMaterial> ClientCertificates { get; private init; } = [];

    /// <summary>Each certificate's <c>OcspResponseFile</c>, in the order of <see cref="Certificates"/> (null: nothing to staple).</summary>
    public IReadOnlyList<OcspResponseSource?> OcspResponses { get; private init; } = [];

    /// <summary>
    /// What a passthrough worker staples: each file's bytes as they are now (empty when there is none or it cannot be read;
    /// the worker checks them as the front does). Read at each worker's start, so a restarted worker gets the newest.
    /// </summary>
    public byte[][] ReadOcspResponses() => [.. Certificates.Select((_, i) => i < OcspResponses.Count && OcspResponses[i]?.File is string file ? ReadOcsp(file) : [])];

    private static byte[] ReadOcsp(string file)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists && info.Length <= OcspResponseCheck.MaxResponseLength ? File.ReadAllBytes(file) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static List<ClientCertificateMaterial> ReadClientCertificates(
        IReadOnlyList<(string Key, ClientCertificateOptions Options)> configured, List<string> problems)
    {
        var materials = new List<ClientCertificateMaterial>();
        foreach ((string key, ClientCertificateOptions options) in configured)
        {
            string prefix = $"{BatonOptions.SectionName}:{key}";
            if (ReadClientCertificate(prefix, options, problems) is ClientCertificateMaterial material)
                materials.Add(material);
        }
        int total = materials.Sum(m => m.EncodedLength);
        if (total > MaxClientCertificateBytes)
            problems.Add($"{BatonOptions.SectionName}:ClientCertificates: the CA and CRL files of every setting take {total} bytes, more than the {MaxClientCertificateBytes} a worker's settings may hold");
        return materials;
    }

    private static ClientCertificateMaterial? ReadClientCertificate(string prefix, ClientCertificateOptions options, List<string> problems)
    {
        var authorities = new MemoryStream();
        for (int i = 0; i < options.TrustedCaFiles.Count; i++)
        {
            if (ReadFile($"{prefix}:TrustedCaFiles:{i}", options.TrustedCaFiles[i], problems) is not byte[] pem)
                return null;
            authorities.Write(pem);
            authorities.WriteByte((byte)'\n');
        }
        byte[] crl = [];
        if (options.CrlFile is string crlFile)
        {
            if (ReadFile($"{prefix}:CrlFile", crlFile, problems) is not byte[] read)
                return null;
            crl = read;
        }
        var material = new ClientCertificateMaterial
        {
            Mode = options.Mode,
            VerifyDepth = options.VerifyDepth,
            TrustedCaPem = authorities.ToArray(),
            CrlPem = crl,
        };
        if (material.Problem() is string problem)
        {
            problems.Add($"{prefix}: {problem}");
            return null;
        }
        try
        {
            // Parsed once here, as the front and the workers will: a file that does not parse stops the start, not a handshake.
            ClientCertificatePolicy.Create(material, 1).Dispose();
        }
        catch (Exception ex) when (ex is Interop.OpenSslException or ArgumentException)
        {
            problems.Add($"{prefix}: the CA or CRL files do not parse: {ex.Message}");
            return null;
        }
        return material;
    }
}
