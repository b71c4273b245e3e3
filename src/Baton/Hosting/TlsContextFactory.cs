using Baton.Channel;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>Builds an OpenSSL server context from the certificates a front (or passthrough worker) holds.</summary>
internal static class TlsContextFactory
{
    public static TlsServerContext Create(
        IEnumerable<CertificateMaterial> certificates, IEnumerable<string> applicationProtocols,
        bool handoffCapture = false, TicketKeyRing? ticketKeys = null)
    {
        var options = new TlsServerOptions { EnableHandoffCapture = handoffCapture, SessionTicketKeys = ticketKeys };
        // The handoff front pays for every ticket inside its handshake, and one per connection is what
        // HTTP clients use: issue one (OpenSSL's default is two).
        if (handoffCapture)
            options.SessionTicketCount = 1;
        foreach (CertificateMaterial certificate in certificates)
            options.Certificates.Add(new TlsCertificate(certificate.ServerNames, certificate.CertificateChainPem, certificate.PrivateKeyPem));
        foreach (string protocol in applicationProtocols)
            options.ApplicationProtocols.Add(protocol);
        return TlsServerContext.Create(options);
    }
}
