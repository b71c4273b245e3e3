using System.Security.Authentication;
using Baton.Configuration;
using Baton.IO;
using Baton.Inspection;
using Baton.Tls;
using Baton.Tls.Handoff;

namespace Baton.Front;

/// <summary>
/// Handoff mode in the front, the TLS part only: completes the handshake with libssl and reads and checks the
/// first request head, each bounded in time (shorter under connection pressure). libssl reads the ClientHello
/// itself; its ClientHello callback asks the caller which ALPN protocols the connection offers (the caller routes on
/// the hello's SNI there). A bad head is answered here (400/431/...) over TLS. What to do with the result (route,
/// answer 421, export) is the caller's: this class knows no pools.
/// </summary>
internal sealed class HandoffTermination : IDisposable
{
    /// <summary>A connection still to be routed by Host or path can only be HTTP/1.1: which pool gets it is not known yet.</summary>
    public static readonly IReadOnlyList<string> RequestRoutedAlpn = ["http/1.1"];

    private const int TlsRecordPlaintext = 16 * 1024;
    private const byte IllegalParameter = 47, InternalError = 80;

    private readonly LimitOptions _limits;
    private readonly TlsServerContext _context;
    private readonly HttpHeadLimits _headLimits;
    private readonly ConnectionSlots _slots;
    /// <summary>The front's client-certificate settings, numbered from 1 as <see cref="CertificateStore.ClientCertificates"/> lists them.</summary>
    private readonly ClientCertificatePolicy[] _clientCertificates;

    /// <param name="slots">The front's connections, whose pressure bounds each wait as it starts.</param>
    /// <param name="ticketKeys">The front's one ticket-key ring, which its passthrough workers share (a reload hands on the ring in use); null: made for <paramref name="options"/>.</param>
    /// <param name="logger">Where the certificates' OCSP staples say when they start or stop being stapled.</param>
    public HandoffTermination(
        BatonOptions options, CertificateStore certificates, ConnectionSlots slots, TicketKeyRing? ticketKeys = null,
        Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        _slots = slots;
        SessionTicketOptions tickets = options.SessionTickets;
        ticketKeys ??= TicketKeyRing.For(tickets);
        _limits = options.Limits;
        _headLimits = new HttpHeadLimits { MaxHeadBytes = options.Limits.MaxRequestHeadBytes };
        // One context, so one session cache as s_server has: the ALPN list is each connection's, chosen from its hello.
        _context = TlsContextFactory.Create(certificates.Certificates, [], tickets.TicketsPerHandshake, ticketKeys, options =>
        {
            options.ApplicationProtocolsPerConnection = true;
            options.ContextSetup = HandoffCapture.InstallCallbacks;
            options.Logger = logger;
        }, certificates.OcspResponses);
        _clientCertificates = ClientCertificatePolicySet.Create(certificates.ClientCertificates);
    }

    /// <summary>
    /// Runs the handshake and, unless ALPN chose h2 or <paramref name="readsRequest"/> says no for the hello's server
    /// name (a pool with <c>"FirstRequest": "none"</c>), reads the first request head. Once libssl has read the
    /// ClientHello, <paramref name="offer"/> gets its server name as routes see it and returns the ALPN protocols to
    /// offer (null refuses the connection with internal_error), and <paramref name="clientCertificatePolicy"/> the number
    /// of the client-certificate setting the handshake applies (0: none asked for). Throws <see cref="ConnectionRejectedException"/> with the reason.
    /// <paramref name="handshaken"/> hears of the completed handshake before the head is read (a bad head is still a
    /// handshake done, for the metrics and the access log).
    /// </summary>
    public async Task<TerminatedConnection> TerminateAsync(
        PolledSocket socket, Func<string?, IReadOnlyList<string>?> offer, Predicate<string?> readsRequest, CancellationToken stopping,
        Action<TerminatedConnection>? handshaken = null, Func<string?, int>? clientCertificatePolicy = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        // The hello's time bound until libssl has it whole, then the handshake's: the order a peek gives in passthrough.
        // Each is shortened if the front is under connection pressure when that wait starts.
        TimeSpan helloTimeout = _slots.Bound(_limits.ClientHelloTimeout);
        deadline.CancelAfter(helloTimeout);
        TerminatedConnection? connection = null;
        IReadOnlyList<string>? Select(string? serverName, out byte alert, out ClientCertificatePolicy? clientCertificates)
        {
            int policy = clientCertificatePolicy?.Invoke(serverName) ?? 0;
            clientCertificates = policy == 0 ? null : _clientCertificates[policy - 1];
            connection!.HandshakeTimeout = _slots.Bound(_limits.HandshakeTimeout);
            deadline.CancelAfter(connection.HandshakeTimeout);
            connection.RoutingName = serverName;
            connection.HelloRead = true;
            bool tooLarge = connection.ClientHelloLength > _limits.ClientHelloMaxBytes;
            IReadOnlyList<string>? offered = tooLarge ? null : offer(serverName);
            // Over the limit: the alert libssl sends for a message over its own bound, as the peek sends.
            alert = tooLarge ? IllegalParameter : InternalError;
            return offered;
        }

        var tls = new OpenSslStream(new PolledSocketStream(socket), _context, leaveInnerStreamOpen: true, Select);
        connection = new TerminatedConnection(tls, _headLimits.MaxHeadBytes + TlsRecordPlaintext);
        try
        {
            await HandshakeAsync(connection, helloTimeout, deadline.Token, stopping).ConfigureAwait(false);
            handshaken?.Invoke(connection);
            if (connection.ApplicationProtocol != "h2" && readsRequest(connection.RoutingName))
                connection.Head = await ReadRequestHeadAsync(connection, stopping).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>As the overload above, reading the first request head whatever the server name (unless h2).</summary>
    public Task<TerminatedConnection> TerminateAsync(PolledSocket socket, Func<string?, IReadOnlyList<string>?> offer, CancellationToken stopping) =>
        TerminateAsync(socket, offer, static _ => true, stopping);

    /// <summary>A failure before libssl had the whole hello is the hello's (as the peek names it in passthrough), after it the handshake's.</summary>
    private async Task HandshakeAsync(TerminatedConnection connection, TimeSpan helloTimeout, CancellationToken deadline, CancellationToken stopping)
    {
        try
        {
            await connection.Tls.AuthenticateAsServerAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw connection.HelloRead
                ? new ConnectionRejectedException(RejectReason.HandshakeTimeout, $"no TLS handshake within {connection.HandshakeTimeout}")
                : new ConnectionRejectedException(RejectReason.ClientHelloTimeout, $"no complete ClientHello within {helloTimeout}");
        }
        catch (AuthenticationException ex)
        {
            // OpenSslStream: only the peer's close has no OpenSSL error behind it.
            string reason = ex.InnerException is null ? RejectReason.PeerClosed
                : connection.Tls.ClientCertificateRefusal?.Reason is string refusal ? refusal
                : connection.ClientHelloLength > _limits.ClientHelloMaxBytes ? RejectReason.ClientHelloTooLarge
                : connection.HelloRead ? RejectReason.HandshakeFailed
                : RejectReason.ClientHelloInvalid;
            ClientCertificateRefusal? refused = connection.Tls.ClientCertificateRefusal;
            throw new ConnectionRejectedException(reason, refused is null ? ex.Message : $"{refused.Detail}; {ex.Message}");
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
        _context.Dispose();
        foreach (ClientCertificatePolicy policy in _clientCertificates)
            policy.Dispose();
    }
}
