using System.Runtime.InteropServices;

namespace Baton.Tls;

/// <summary>
/// Managed state the SSL_CTX callbacks reach through their GCHandle argument: the SNI certificate table and the
/// ALPN list in wire format (native memory, because SSL_select_next_proto returns a pointer into it that OpenSSL
/// keeps after the callback returns). Freed by the context handle once no SSL uses the context any more.
/// </summary>
internal sealed unsafe class TlsContextState : IDisposable
{
    private readonly List<LoadedCertificate> _certificates;
    private byte* _alpnWire;

    internal TlsContextState(
        List<LoadedCertificate> certificates, CertificateSelector selector, byte[] alpnWire, Dictionary<nint, OcspStaple>? staples = null)
    {
        _certificates = certificates;
        Staples = staples ?? [];
        Selector = selector;
        AlpnWireLength = (uint)alpnWire.Length;
        if (alpnWire.Length > 0)
        {
            _alpnWire = (byte*)NativeMemory.Alloc((nuint)alpnWire.Length);
            alpnWire.CopyTo(new Span<byte>(_alpnWire, alpnWire.Length));
        }
    }

    internal CertificateSelector Selector { get; }

    /// <summary>The OCSP staples, by the X509* of the certificate they are for (what SSL_get_certificate answers).</summary>
    internal IReadOnlyDictionary<nint, OcspStaple> Staples { get; }

    internal LoadedCertificate DefaultCertificate => _certificates[0];

    internal byte* AlpnWire => _alpnWire;

    internal uint AlpnWireLength { get; }

    public void Dispose()
    {
        foreach (LoadedCertificate certificate in _certificates) certificate.Dispose();
        NativeMemory.Free(_alpnWire);
        _alpnWire = null;
    }
}
