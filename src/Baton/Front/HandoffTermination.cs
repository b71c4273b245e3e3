using System.Security.Authentication;
using Baton.Configuration;
using Baton.IO;
using Baton.Inspection;
using Baton.Tls;
using Baton.Tls.Handoff;

namespace Baton.Front;

/// <summary>
/// Handoff mode in the front, the TLS part only: completes the handshake with libssl and reads and checks the
/// first request head, each bounded in time (shorter under connection pressure). A bad head is answered here
/// (400/431/...) over TLS. What to do with the result (route, answer 421, export) is the caller's: this class knows no pools.
/// </summary>
internal sealed class HandoffTermination : IDisposable
{
    /// <summary>A connection still to be routed by Host or path can only be HTTP/1.1: which pool gets it is not known yet.</summary>
    public static readonly IReadOnlyList<string> RequestRoutedAlpn = ["http/1.1"];

    private const int TlsRecordPlaintext = 16 * 1024;

    private readonly LimitOptions _limits;
    private readonly Dictionary<string, TlsServerContext> _contexts = new(StringComparer.Ordinal);
    private readonly TicketKeyRing _ticketKeys;
    private readonly int _ticketsPerHandshake;
    private readonly HttpHeadLimits _headLimits;
    private readonly ConnectionSlots _slots;

    /// <param name="alpnOffers">Every ALPN list a connection may be terminated with (one per handoff pool); <see cref="RequestRoutedAlpn"/> is always there.</param>
    /// <param name="slots">The front's connections, whose pressure bounds each wait as it starts.</param>
    public HandoffTermination(BatonOptions options, CertificateStore certificates, IEnumerable<IReadOnlyList<string>> alpnOffers, ConnectionSlots slots)
    {
        _slots = slots;
        SessionTicketOptions tickets = options.SessionTickets;
        // One ring for every context, so a ticket resumes whichever context the connection lands on.
        _ticketKeys = tickets.KeyFile is not null
            ? TicketKeyRing.FromKeyFile(tickets.KeyFile)
            : TicketKeyRing.CreateRotating(tickets.RotationInterval, tickets.DecryptionWindow);
        _ticketsPerHandshake = tickets.TicketsPerHandshake;
        _limits = options.Limits;
        _headLimits = new HttpHeadLimits { MaxHeadBytes = options.Limits.MaxRequestHeadBytes };
        // One context per distinct ALPN list, made now: connections only look them up.
        foreach (IReadOnlyList<string> alpn in alpnOffers.Prepend(RequestRoutedAlpn))
        {
            string key = Key(alpn);
            if (!_contexts.ContainsKey(key))
                _contexts[key] = CreateContext(alpn, certificates);
        }
    }

    private static string Key(IReadOnlyList<string> alpn) => string.Join(',', alpn);

    private TlsServerContext CreateContext(IReadOnlyList<string> alpn, CertificateStore certificates) =>
        TlsContextFactory.Create(certificates.Certificates, alpn, _ticketsPerHandshake, _ticketKeys,
            static options => options.ContextSetup = HandoffCapture.InstallCallbacks);

    /// <summary>
    /// Runs the handshake offering <paramref name="alpn"/> (one of the lists given at construction) and, unless
    /// ALPN chose h2, reads the first request head. Throws <see cref="ConnectionRejectedException"/> with the reason.
    /// </summary>
    public async Task<TerminatedConnection> TerminateAsync(PolledSocket socket, IReadOnlyList<string> alpn, CancellationToken stopping)
    {
        var tls = new OpenSslStream(new PolledSocketStream(socket), _contexts[Key(alpn)], leaveInnerStreamOpen: true);
        var connection = new TerminatedConnection(tls, _headLimits.MaxHeadBytes + TlsRecordPlaintext);
        try
        {
            await HandshakeAsync(connection.Tls, stopping).ConfigureAwait(false);
            if (connection.ApplicationProtocol != "h2")
                connection.Head = await ReadRequestHeadAsync(connection, stopping).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task HandshakeAsync(OpenSslStream tls, CancellationToken stopping)
    {
        TimeSpan timeout = _slots.Bound(_limits.HandshakeTimeout);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            await tls.AuthenticateAsServerAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new ConnectionRejectedException(RejectReason.HandshakeTimeout, $"no TLS handshake within {timeout}");
        }
        catch (AuthenticationException ex)
        {
            throw new ConnectionRejectedException(RejectReason.HandshakeFailed, ex.Message);
        }
    }

    /// <summary>Reads records until the head parses; every read leaves room for a whole record so libssl keeps nothing back.</summary>
    private async Task<HttpRequestHead> ReadRequestHeadAsync(TerminatedConnection connection, CancellationToken stopping)
    {
        TimeSpan timeout = _slots.Bound(_limits.RequestHeadTimeout);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                Memory<byte> room = connection.ReadRoom(TlsRecordPlaintext);
                int read = await connection.Tls.ReadAsync(room, deadline.Token).ConfigureAwait(false);
                if (read == 0)
                    throw new ConnectionRejectedException(RejectReason.PeerClosed, $"peer closed after {connection.AlreadyRead.Length} bytes of request head");
                connection.Advance(read);
                switch (HttpRequestHeadParser.Parse(connection.AlreadyRead.Span, _headLimits, out HttpRequestHead? head, out HttpHeadError error))
                {
                    case ParseStatus.Complete:
                        return head!;
                    case ParseStatus.Invalid:
                        int status = error.ToStatusCode();
                        await connection.RespondAsync(status).ConfigureAwait(false);
                        throw new ConnectionRejectedException(RejectReason.RequestInvalid, $"request head: {error} (answered {status})");
                }
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new ConnectionRejectedException(RejectReason.RequestTimeout, $"no complete request head within {timeout}");
        }
        catch (IOException ex)
        {
            throw new ConnectionRejectedException(RejectReason.SocketError, ex.Message);
        }
    }

    public void Dispose()
    {
        foreach (TlsServerContext context in _contexts.Values)
            context.Dispose();
    }
}
