using Baton.Channel;

namespace Baton.Tls;

/// <summary>Builds an OpenSSL server context from the certificates a front (or passthrough worker) holds.</summary>
internal static class TlsContextFactory
{
    /// <param name="ticketsPerHandshake">TLS 1.3 tickets after a full handshake (<c>SessionTickets:TicketsPerHandshake</c>).</param>
    /// <param name="configure">Adjusts the options before the context is made (the handoff front: its capture callbacks).</param>
    /// <param name="ocsp">Each certificate's OCSP response source, in the same order (null or shorter: none).</param>
    public static TlsServerContext Create(
        IEnumerable<CertificateMaterial> certificates, IEnumerable<string> applicationProtocols, int ticketsPerHandshake,
        TicketKeyRing? ticketKeys = null, Action<TlsServerOptions>? configure = null, IReadOnlyList<OcspResponseSource?>? ocsp = null)
    {
        var options = new TlsServerOptions { SessionTicketKeys = ticketKeys, SessionTicketCount = ticketsPerHandshake };
        int index = 0;
        foreach (CertificateMaterial certificate in certificates)
        {
            options.Certificates.Add(new TlsCertificate(certificate.ServerNames, certificate.CertificateChainPem, certificate.PrivateKeyPem)
            {
                Ocsp = ocsp is not null && index < ocsp.Count ? ocsp[index] : null,
            });
            index++;
        }
        foreach (string protocol in applicationProtocols)
            options.ApplicationProtocols.Add(protocol);
        configure?.Invoke(options);
        return TlsServerContext.Create(options);
    }
}
