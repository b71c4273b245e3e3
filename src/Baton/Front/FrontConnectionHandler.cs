using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.IO;
using Baton.Inspection;
using Baton.Supervisor;
using Baton.Tls;
using Baton.Tls.Handoff;
using Baton.Tls.Session;

namespace Baton.Front;

/// <summary>
/// Takes one accepted connection from the listener to a worker: PROXY header, ClientHello, route (terminating
/// TLS first when the route or the pool needs it), then dispatch. Routing is decided here and only here. Every
/// failure closes only this connection, with one counter and one log line (bounded per reason: ConnectionFailureLog).
/// </summary>
internal sealed class FrontConnectionHandler : IDisposable
{
    private readonly LimitOptions _limits;
    private readonly RouteTable _router;
    private readonly IReadOnlyDictionary<string, WorkerPool> _pools;
    private readonly SocketPoller _poller;
    private readonly HandoffTermination _termination;
    private readonly ConnectionSlots _slots;
    private readonly HashSet<string> _peekingListeners;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConnectionFailureLog _failures;
    private readonly AccessLog? _accessLog;
    private readonly HandbackDispatcher _handbacks;

    public FrontConnectionHandler(
        BatonOptions options, IReadOnlyDictionary<string, WorkerPool> pools, SocketPoller poller, CertificateStore certificates,
        ConnectionSlots slots, BatonMetrics metrics, ILogger logger, TicketKeyRing? ticketKeys = null, AccessLog? accessLog = null)
    {
        _accessLog = accessLog;
        _limits = options.Limits;
        _router = new RouteTable(options);
        _pools = pools;
        _poller = poller;
        _termination = new HandoffTermination(options, certificates, slots, ticketKeys, logger);
        _slots = slots;
        // Only a listener that may hand a connection over as it is must read the hello itself; elsewhere libssl does.
        _peekingListeners = options.Listeners
            .Where(l => _router.PoolsBeforeRequest(l.Name).Any(pool => pools[pool].Mode == HandoffMode.Passthrough))
            .Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        _metrics = metrics;
        _logger = logger;
        _failures = new ConnectionFailureLog(logger, TimeProvider.System, ConnectionFailureLog.DefaultInterval, ConnectionFailureLog.DefaultLinesPerReason);
        _handbacks = new HandbackDispatcher(options, pools, poller, metrics, logger);
    }

    public async Task HandleAsync(Socket accepted, ListenerOptions listener, ulong id, CancellationToken stopping)
    {
        var socket = new PolledSocket(accepted, _poller);
        Routed? routed = null;
        // Formatted only if a log line is written: this runs for every connection.
        IPEndPoint? remote = socket.RemoteEndPoint;
        ConnectionRecord? record = _accessLog?.Begin(id, listener.Name, remote);
        try
        {
            Inspected inspected = await InspectAsync(socket, listener, stopping).ConfigureAwait(false);
            remote = inspected.Remote ?? remote;
            record?.Inspected(inspected.Remote, inspected.Hello);
            routed = await RouteAsync(id, socket, listener, inspected, record, stopping).ConfigureAwait(false);
            WorkerPool pool = _pools[routed.Handoff.Pool];
            long dispatchStarted = Stopwatch.GetTimestamp();
            DispatchOutcome outcome = await pool.DispatchAsync(routed.Handoff, stopping).ConfigureAwait(false);
            if (outcome != DispatchOutcome.HandedOff)
                throw await RefuseAsync(socket, routed.Terminated, pool, outcome).ConfigureAwait(false);
            TimeSpan dispatch = Stopwatch.GetElapsedTime(dispatchStarted);
            _metrics.HandedOff(pool.Name);
            _metrics.Dispatched(pool.Name, dispatch);
            record?.HandedOff(routed.Handoff.SentTo, dispatch);
            _logger.ConnectionHandedOff(id, remote, pool.Name);
        }
        catch (ConnectionRejectedException ex)
        {
            Fail(id, remote, ex.Reason, ex.Message, record);
            await AnswerRejectionAsync(socket, ex).ConfigureAwait(false);
            if (ex.Reason is ClientCertificateRefusal.Missing or ClientCertificateRefusal.Untrusted or ClientCertificateRefusal.Invalid)
                await LingeringClose.DrainAsync(socket.ShutdownSend, socket.ReceiveAsync).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            Fail(id, remote, RejectReason.SocketError, ex.Message, record);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            record?.ShutDown();
        }
        catch (Exception ex)
        {
            // A bug must cost one connection, never the front: log it loudly with its type.
            Fail(id, remote, RejectReason.InternalError, ex.ToString(), record);
        }
        finally
        {
            // The SSL first (freed without writing), then the descriptor.
            routed?.Terminated?.Dispose();
            if (routed is not null)
                routed.Handoff.Dispose();
            else
                socket.Dispose();
        }
        // After the descriptor is closed, so that nothing a log provider does can keep it open.
        if (record is not null)
            _accessLog!.Write(record);
    }

    /// <summary>
    /// No worker took the connection, and none holds it: the front answers it itself, and returns the rejection to
    /// throw. Over the session it terminated, a 503 with Retry-After; before any handshake (passthrough) only an alert.
    /// </summary>
    private async Task<ConnectionRejectedException> RefuseAsync(PolledSocket socket, TerminatedConnection? terminated, WorkerPool pool, DispatchOutcome outcome)
    {
        string answered;
        if (terminated is not null)
        {
            await terminated.RespondUnavailableAsync().ConfigureAwait(false);
            answered = "answered 503";
        }
        else
        {
            await SendCourtesyAsync(socket, TlsAlerts.InternalError).ConfigureAwait(false);
            answered = "answered an internal_error alert";
        }
        return new ConnectionRejectedException(RejectReason.NoWorker, outcome == DispatchOutcome.AtCapacity
            ? $"every worker of pool {pool.Name} is at MaxConnectionsPerWorker; {answered}"
            : $"no worker of pool {pool.Name} took it within {_limits.DispatchTimeout}; {answered}");
    }

    /// <summary>A routed connection: what goes to the worker and, when the front terminated its TLS, the live session.</summary>
    private sealed record Routed(PendingHandoff Handoff, TerminatedConnection? Terminated);

    /// <summary>
    /// What is known before routing: the client's addresses (from the PROXY header if any) and its ClientHello; null
    /// where the listener's routes lead to handoff pools only, and libssl reads the hello in the handshake.
    /// </summary>
    private readonly record struct Inspected(IPEndPoint? Remote, IPEndPoint? Local, ClientHelloInfo? Hello);

    private async Task<Inspected> InspectAsync(PolledSocket socket, ListenerOptions listener, CancellationToken stopping)
    {
        var remote = socket.RemoteEndPoint;
        var local = socket.LocalEndPoint;
        if (listener.ProxyProtocol)
        {
            ProxyHeader header = await ConnectionInspector.ReadProxyHeaderAsync(socket, _slots.Bound(_limits.ProxyHeaderTimeout), stopping).ConfigureAwait(false);
            if (!header.IsLocal && header.Source is not null)
            {
                remote = header.Source;
                local = header.Destination;
            }
        }
        if (!_peekingListeners.Contains(listener.Name))
        {
            await ConnectionInspector.WaitForHandshakeAsync(socket, _limits.ClientHelloMaxBytes, _limits.ClientHelloTimeout, stopping).ConfigureAwait(false);
            return new Inspected(remote, local, null);
        }
        ClientHelloInfo hello = await ConnectionInspector.PeekClientHelloAsync(
            socket, _limits.ClientHelloMaxBytes, _slots.Bound(_limits.ClientHelloTimeout), stopping).ConfigureAwait(false);
        return new Inspected(remote, local, hello);
    }

    /// <summary>
    /// The front's routing: listener and SNI first. A passthrough pool takes the connection as it is. Otherwise the
    /// front terminates TLS, offering what the pool SNI picks accepts (asked from libssl's ClientHello callback, on the
    /// same reading of the SNI the peek makes); the first request's Host and path then decide, except for h2 (its
    /// requests are inside frames), which stays with the pool SNI picked — only such a pool offers h2.
    /// </summary>
    private async Task<Routed> RouteAsync(
        ulong id, PolledSocket socket, ListenerOptions listener, Inspected inspected, ConnectionRecord? record, CancellationToken stopping)
    {
        if (inspected.Hello is ClientHelloInfo hello && PoolByName(listener, hello.ServerName) is { Mode: HandoffMode.Passthrough } passthrough)
        {
            record?.Routed(passthrough.Name);
            return new Routed(CreateHandoff(id, socket, new ConnectionFacts
            {
                Mode = HandoffMode.Passthrough,
                Pool = passthrough.Name,
                RemoteEndPoint = inspected.Remote,
                LocalEndPoint = inspected.Local,
                ServerName = hello.ServerName,
                // The channel carries at most 64 (the worker's own libssl reads the whole list); a hello may hold thousands.
                OfferedAlpn = [.. hello.ApplicationProtocols.Take(ChannelCodec.MaxAlpnProtocols)],
                ClientCertificatePolicy = _router.ClientCertificatePolicy(listener.Name, hello.ServerName),
            }), null);
        }

        TerminatedConnection terminated = await _termination.TerminateAsync(
            socket, serverName => Offer(listener, serverName), serverName => ReadsRequest(listener, serverName), stopping,
            handshaken => Handshaken(handshaken, record), serverName => _router.ClientCertificatePolicy(listener.Name, serverName)).ConfigureAwait(false);
        record?.RequestRead(terminated);
        try
        {
            string? routingName = terminated.RoutingName;
            WorkerPool target = terminated.Head is HttpRequestHead head
                ? _pools[_router.SelectWithRequest(listener.Name, routingName, head.Host, head.NormalizedPath)]
                : PoolByName(listener, routingName)!;
            record?.Routed(target.Name);
            if (target.Mode == HandoffMode.Passthrough)
            {
                // Validation keeps Host/path routes off passthrough pools, but the default pool may be one.
                await terminated.RespondAsync(421).ConfigureAwait(false);
                throw new ConnectionRejectedException(RejectReason.RequestInvalid, $"request routed to passthrough pool {target.Name} after the front terminated TLS");
            }
            // The session stays alive until the dispatch ends: if no worker takes it, the front answers over it.
            return new Routed(HandOverSession(id, socket, listener, inspected, target, terminated), terminated);
        }
        catch
        {
            terminated.Dispose();
            throw;
        }
    }

    private void Handshaken(TerminatedConnection connection, ConnectionRecord? record)
    {
        _metrics.Handshake(connection.Tls.ProtocolName, connection.Tls.CipherSuiteName, connection.Tls.IsResumed);
        record?.Handshaken(connection);
    }

    private WorkerPool? PoolByName(ListenerOptions listener, string? serverName) =>
        _router.SelectBeforeRequest(listener.Name, serverName) is string name ? _pools[name] : null;

    /// <summary>
    /// The ALPN list a terminated connection offers, from its hello's SNI: the handoff pool's it routes to, HTTP/1.1 while
    /// a Host/path route may still apply. A passthrough pool here (a listener that did not peek) is refused (null).
    /// </summary>
    private IReadOnlyList<string>? Offer(ListenerOptions listener, string? serverName) => PoolByName(listener, serverName) switch
    {
        null => HandoffTermination.RequestRoutedAlpn,
        { Mode: HandoffMode.Handoff or HandoffMode.Proxy } pool => pool.Alpn,
        _ => null,
    };

    /// <summary>
    /// Whether the front reads the first request before handing the connection on: yes while a Host/path route may
    /// apply, else as the pool SNI picks says (proxy pools and <c>"FirstRequest": "none"</c> hand it on at once).
    /// </summary>
    private bool ReadsRequest(ListenerOptions listener, string? serverName) =>
        PoolByName(listener, serverName) is not { FirstRequest: FirstRequest.None };

    /// <summary>Exports the terminated session for <paramref name="target"/>; the SSL and the head buffer go with the caller's dispose.</summary>
    private static PendingHandoff HandOverSession(
        ulong id, PolledSocket socket, ListenerOptions listener, Inspected inspected, WorkerPool target, TerminatedConnection terminated)
    {
        using HandoffExport export = terminated.Export();
        var facts = new ConnectionFacts
        {
            // A proxy pool's relay continues the session just as a handoff worker does.
            Mode = HandoffMode.Handoff,
            Pool = target.Name,
            // The worker routes the connection's later requests by it (handback).
            Listener = listener.Name,
            RemoteEndPoint = inspected.Remote,
            LocalEndPoint = inspected.Local,
            ServerName = terminated.ServerName ?? terminated.RoutingName,
            NegotiatedAlpn = terminated.ApplicationProtocol,
            TlsStateLength = export.State.EncodedLength,
            // Not copied: the plaintext goes from the termination's buffer straight into the body.
            InitialData = terminated.AlreadyRead,
            InitialCiphertext = export.UnprocessedCiphertext,
            ClientCertificateChain = terminated.ClientCertificateChainForWorker(),
        };
        return CreateHandoff(id, socket, facts, export.State);
    }

    /// <summary>
    /// Encodes the Connection body, the session state serialized straight into it: the body is the one serialized
    /// copy of the keys in the front, kept (by <see cref="PendingHandoff"/>) until a worker acknowledges.
    /// </summary>
    private static PendingHandoff CreateHandoff(ulong id, PolledSocket socket, ConnectionFacts facts, TlsSessionState? state = null)
    {
        byte[] body = ArrayPool<byte>.Shared.Rent(facts.EncodedLengthUpperBound);
        try
        {
            int length = facts.WriteTo(body, out Span<byte> stateSlot);
            state?.Write(stateSlot);
            socket.PrepareForHandoff();
            return new PendingHandoff(id, facts.Pool, socket, body, length);
        }
        catch
        {
            // The body may already hold the session keys.
            CryptographicOperations.ZeroMemory(body);
            ArrayPool<byte>.Shared.Return(body);
            throw;
        }
        finally
        {
            facts.Wipe();
        }
    }

    /// <summary>A plain-HTTP client gets a readable 400; a broken TLS client gets the fatal alert libssl would send.</summary>
    private static Task AnswerRejectionAsync(PolledSocket socket, ConnectionRejectedException rejection) =>
        SendCourtesyAsync(socket, rejection.Reason == RejectReason.PlainHttp ? PlainHttp.BadRequestResponse
            : rejection.Alert is byte alert ? TlsAlerts.Fatal(alert)
            : ReadOnlyMemory<byte>.Empty);

    /// <summary>Sends an answer the client may never read, bounded in time; failures are the client's.</summary>
    private static async Task SendCourtesyAsync(PolledSocket socket, ReadOnlyMemory<byte> answer)
    {
        if (answer.IsEmpty)
            return;
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.SendAsync(answer, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // The answer is a courtesy to a client that already broke the protocol, or that the front cannot serve.
        }
    }

    private void Fail(ulong id, IPEndPoint? remote, string reason, string detail, ConnectionRecord? record)
    {
        _metrics.Failed(reason);
        record?.Failed(reason);
        // A browser's unused preconnect or a health check: counted, but nothing went wrong.
        if (reason == RejectReason.Preconnect)
            _logger.ConnectionClosedUnused(id, remote);
        else
            _failures.Failed(id, remote, reason, detail);
    }

    public void Dispose()
    {
        _handbacks.Dispose();
        _termination.Dispose();
        _failures.Dispose();
    }
}
