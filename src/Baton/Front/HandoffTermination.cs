using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Security.Authentication;
using System.Text;
using Baton.Channel;
using Baton.Configuration;
using Baton.IO;
using Baton.Inspection;
using Baton.Supervisor;
using Baton.Tls;
using Baton.Tls.Handoff;

namespace Baton.Front;

/// <summary>
/// Handoff mode in the front: completes the TLS handshake with libssl, reads and checks the first
/// request head, routes on it, and exports the live session so a worker can continue it. A bad
/// request is answered here (400/431/...) over TLS; nothing of the session leaves the front then.
/// </summary>
internal sealed class HandoffTermination : IDisposable
{
    private const int TlsRecordPlaintext = 16 * 1024;

    private readonly LimitOptions _limits;
    private readonly Router _router;
    private readonly IReadOnlyDictionary<string, WorkerPool> _pools;
    private readonly Dictionary<string, TlsServerContext> _contexts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TlsServerContext> _poolContexts = new(StringComparer.Ordinal);
    private readonly TlsServerContext _requestRoutedContext;
    private readonly TicketKeyRing _ticketKeys;
    private readonly HttpHeadLimits _headLimits;

    public HandoffTermination(BatonOptions options, IReadOnlyDictionary<string, WorkerPool> pools, CertificateStore certificates)
    {
        SessionTicketOptions tickets = options.SessionTickets;
        // One ring for every context, so a ticket resumes whichever context the connection lands on.
        _ticketKeys = tickets.KeyFile is not null
            ? TicketKeyRing.FromKeyFile(tickets.KeyFile)
            : TicketKeyRing.CreateRotating(tickets.RotationInterval, tickets.DecryptionWindow);
        _limits = options.Limits;
        _router = new Router(options);
        _pools = pools;
        _headLimits = new HttpHeadLimits { MaxHeadBytes = options.Limits.MaxRequestHeadBytes };
        // One context per distinct ALPN list: a connection routed by SNI to a pool that speaks h2 may
        // negotiate it; a connection still to be routed by Host/path can only be HTTP/1.1.
        _requestRoutedContext = ContextFor(["http/1.1"], certificates);
        foreach (WorkerPool pool in pools.Values.Where(pool => pool.Mode == HandoffMode.Handoff))
            _poolContexts[pool.Name] = ContextFor(pool.Alpn, certificates);
    }

    private TlsServerContext ContextFor(IReadOnlyList<string> alpn, CertificateStore certificates)
    {
        string key = string.Join(',', alpn);
        if (!_contexts.TryGetValue(key, out TlsServerContext? context))
        {
            context = TlsContextFactory.Create(certificates.Certificates, alpn, _ticketKeys, static options =>
            {
                // The front pays for every ticket inside its handshake, and one per connection is what
                // HTTP clients use: issue one (OpenSSL's default is two).
                options.SessionTicketCount = 1;
                options.ContextSetup = HandoffCapture.InstallCallbacks;
            });
            _contexts[key] = context;
        }
        return context;
    }

    /// <summary>
    /// Terminates TLS and reads the first request; returns the facts to send with the descriptor.
    /// <paramref name="pool"/> is the pool chosen by SNI, or null when a Host/path route may apply.
    /// </summary>
    public async Task<ConnectionFacts> TerminateAsync(
        PolledSocket socket, string listener, IPEndPoint? remote, IPEndPoint? local, string? serverName, WorkerPool? pool,
        CancellationToken stopping)
    {
        TlsServerContext context = pool is null ? _requestRoutedContext : _poolContexts[pool.Name];
        using var tls = new OpenSslStream(new PolledSocketStream(socket), context, leaveInnerStreamOpen: true);
        using HandoffCapture capture = HandoffCapture.Attach(tls);
        await HandshakeAsync(tls, stopping).ConfigureAwait(false);

        byte[] plaintext = ArrayPool<byte>.Shared.Rent(_headLimits.MaxHeadBytes + TlsRecordPlaintext);
        int length = 0;
        try
        {
            HttpRequestHead? head = null;
            if (tls.ApplicationProtocol != "h2")
                (head, length) = await ReadRequestHeadAsync(tls, plaintext, stopping).ConfigureAwait(false);
            return await HandOverAsync(tls, capture, listener, remote, local, serverName, pool, head, plaintext.AsMemory(0, length))
                .ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }

    private async Task<ConnectionFacts> HandOverAsync(
        OpenSslStream tls, HandoffCapture capture, string listener, IPEndPoint? remote, IPEndPoint? local, string? serverName,
        WorkerPool? pool, HttpRequestHead? head, ReadOnlyMemory<byte> alreadyRead)
    {
        // HTTP/2 requests are inside frames: such connections stay with the pool their SNI picked.
        string target = head is null ? pool!.Name : _router.SelectWithRequest(listener, serverName, head.Host, head.Path);
        if (_pools[target].Mode != HandoffMode.Handoff)
        {
            await RespondAsync(tls, 421, "Misdirected Request").ConfigureAwait(false);
            throw new ConnectionRejectedException(RejectReason.RequestInvalid, $"request routed to passthrough pool {target} after the front terminated TLS");
        }

        HandoffExport export;
        try
        {
            export = capture.Export();
        }
        catch (HandoffRefusedException ex)
        {
            throw new ConnectionRejectedException(RejectReason.HandoffRefused, ex.Message);
        }
        using (export.State)
        {
            byte[] state = new byte[export.State.EncodedLength];
            export.State.Write(state);
            return new ConnectionFacts
            {
                Mode = HandoffMode.Handoff,
                Pool = target,
                RemoteEndPoint = remote,
                LocalEndPoint = local,
                ServerName = tls.ServerName ?? serverName,
                NegotiatedAlpn = tls.ApplicationProtocol,
                TlsState = state,
                // Copied only now that the handoff will happen; the caller wipes its buffer either way.
                InitialData = alreadyRead.ToArray(),
                InitialCiphertext = export.UnprocessedCiphertext,
            };
        }
    }

    private async Task HandshakeAsync(OpenSslStream tls, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(_limits.HandshakeTimeout);
        try
        {
            await tls.AuthenticateAsServerAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new ConnectionRejectedException(RejectReason.HandshakeTimeout, $"no TLS handshake within {_limits.HandshakeTimeout}");
        }
        catch (AuthenticationException ex)
        {
            throw new ConnectionRejectedException(RejectReason.HandshakeFailed, ex.Message);
        }
    }

    /// <summary>Reads records until the head parses; every read leaves room for a whole record so libssl keeps nothing back.</summary>
    private async Task<(HttpRequestHead Head, int Length)> ReadRequestHeadAsync(OpenSslStream tls, byte[] plaintext, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(_limits.RequestHeadTimeout);
        int length = 0;
        try
        {
            while (true)
            {
                int read = await tls.ReadAsync(plaintext.AsMemory(length, TlsRecordPlaintext), deadline.Token).ConfigureAwait(false);
                if (read == 0)
                    throw new ConnectionRejectedException(RejectReason.PeerClosed, $"peer closed after {length} bytes of request head");
                length += read;
                switch (HttpRequestHeadParser.Parse(plaintext.AsSpan(0, length), _headLimits, out HttpRequestHead? head, out HttpHeadError error))
                {
                    case ParseStatus.Complete:
                        return (head!, length);
                    case ParseStatus.Invalid:
                        int status = error.ToStatusCode();
                        await RespondAsync(tls, status, ReasonPhrase(status)).ConfigureAwait(false);
                        throw new ConnectionRejectedException(RejectReason.RequestInvalid, $"request head: {error} (answered {status})");
                }
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new ConnectionRejectedException(RejectReason.RequestTimeout, $"no complete request head within {_limits.RequestHeadTimeout}");
        }
        catch (IOException ex)
        {
            throw new ConnectionRejectedException(RejectReason.SocketError, ex.Message);
        }
    }

    /// <summary>The front's own answers: a short error page, then close_notify.</summary>
    private static async Task RespondAsync(OpenSslStream tls, int status, string reason)
    {
        string body = $"{status} {reason}\n";
        byte[] response = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\nServer: Baton\r\n\r\n{body}");
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await tls.WriteAsync(response, bounded.Token).ConfigureAwait(false);
            await tls.ShutdownAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is already in the wrong; the log line says why it was closed.
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };

    public void Dispose()
    {
        foreach (TlsServerContext context in _contexts.Values)
            context.Dispose();
    }
}
