namespace Baton.Tls;

/// <summary>
/// One certificate the server can present: the names it serves (exact, or "*.example.com" for one extra label),
/// the PEM chain (leaf first, then intermediates) and the PEM private key. The bytes are read once, when the
/// context is created; wiping the caller's arrays afterwards is the caller's job.
/// </summary>
internal sealed class TlsCertificate
{
    public TlsCertificate(IReadOnlyList<string> serverNames, ReadOnlyMemory<byte> certificateChainPem, ReadOnlyMemory<byte> privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(serverNames);
        if (certificateChainPem.IsEmpty) throw new ArgumentException("The certificate chain PEM is empty.", nameof(certificateChainPem));
        if (privateKeyPem.IsEmpty) throw new ArgumentException("The private key PEM is empty.", nameof(privateKeyPem));
        ServerNames = serverNames;
        CertificateChainPem = certificateChainPem;
        PrivateKeyPem = privateKeyPem;
    }

    public IReadOnlyList<string> ServerNames { get; }

    public ReadOnlyMemory<byte> CertificateChainPem { get; }

    public ReadOnlyMemory<byte> PrivateKeyPem { get; }

    /// <summary>The OCSP response to staple for it, if any (<see cref="OcspStaple"/>).</summary>
    public OcspResponseSource? Ocsp { get; init; }
}
