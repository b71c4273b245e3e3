using Baton.Channel;

namespace Baton.Tls;

/// <summary>Builds an OpenSSL server context from the certificates a front (or passthrough worker) holds.</summary>
internal static class TlsContextFactory
{
    /// <param name="ticketsPerHandshake">TLS 1.3 tickets after a full handshake (<c>SessionTickets:TicketsPerHandshake</c>).</param>
    /// <param name="configure">Adjusts the options before the context is made (the handoff front: its capture callbacks).</param>
    public static TlsServerContext Create(
        IEnumerable<CertificateMaterial> certificates, IEnumerable<string> applicationProtocols, int ticketsPerHandshake,
        TicketKeyRing? ticketKeys = null, Action<TlsServerOptions>? configure = null)
    {
        var options = new TlsServerOptions { SessionTicketKeys = ticketKeys, SessionTicketCount = ticketsPerHandshake };
        foreach (CertificateMaterial certificate in certificates)
            options.Certificates.Add(new TlsCertificate(certificate.ServerNames, certificate.CertificateChainPem, certificate.PrivateKeyPem));
        foreach (string protocol in applicationProtocols)
            options.ApplicationProtocols.Add(protocol);
        configure?.Invoke(options);
        return TlsServerContext.Create(options);
    }
}
