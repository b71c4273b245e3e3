using System.Diagnostics.CodeAnalysis;

namespace Baton.Channel;

/// <summary>
/// The Certificates body (message type 9): the certificates a passthrough worker serves from now on, sent by the
/// front on reload. Read as strictly as the Configure body: one required field, every certificate checked, unknown
/// tags refused. SECRET: every <see cref="CertificateMaterial.PrivateKeyPem"/>; call <see cref="Wipe"/> once loaded.
/// </summary>
internal sealed class CertificateUpdate
{
    private const byte CertificatesTag = 1;

    public required IReadOnlyList<CertificateMaterial> Certificates { get; init; }

    public void Wipe()
    {
        foreach (CertificateMaterial certificate in Certificates)
            certificate.Wipe();
    }

    internal int WriteTo(Span<byte> destination)
    {
        if (Problem() is string problem)
            throw new ArgumentException(problem);
        var writer = new ChannelBodyWriter(destination);
        CertificateMaterial.WriteList(ref writer, CertificatesTag, Certificates);
        return writer.Written;
    }

    internal static CertificateUpdate ReadFrom(ReadOnlySpan<byte> body) => new(body);

    public CertificateUpdate()
    {
    }

    [SetsRequiredMembers]
    private CertificateUpdate(ReadOnlySpan<byte> body)
    {
        Certificates = [];
        var reader = new ChannelBodyReader(body);
        try
        {
            while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
            {
                switch (tag)
                {
                    case CertificatesTag: Certificates = CertificateMaterial.ReadList(value, WorkerSettings.MaxCertificates, nameof(Certificates)); break;
                    default: throw ChannelBodyReader.UnknownField(tag);
                }
            }
            reader.Require(CertificatesTag, nameof(Certificates));
            if (Problem() is string problem)
                throw ChannelBodyReader.Invalid(problem);
        }
        catch (ChannelProtocolException)
        {
            Wipe();
            throw;
        }
    }

    /// <summary>A passthrough worker always has a certificate to serve: an empty list would leave it none.</summary>
    private string? Problem() =>
        Certificates.Count is 0 or > WorkerSettings.MaxCertificates ? $"Certificates must hold 1..{WorkerSettings.MaxCertificates} certificates"
        : Certificates.Select(c => c.Problem()).FirstOrDefault(p => p is not null);
}
