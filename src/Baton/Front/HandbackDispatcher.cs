using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Inspection;
using Baton.IO;
using Baton.Supervisor;
using Baton.Tls.Records;
using Baton.Tls.Session;

namespace Baton.Front;

/// <summary>
/// The front's side of handback: a connection a worker gave back at a request boundary is routed by the request it
/// carries (the same <see cref="RouteTable"/> as a first request) and dispatched like a first handoff, minus the
/// handshake: the same body with only the pool changed. Only once a worker holds it (or the front answered it) is the
/// old worker told to close its copy. When no worker can take it, or the carried request cannot be routed, the front
/// answers it itself over its own record layer on the carried session (503, 400, 421), then closes it.
/// </summary>
internal sealed class HandbackDispatcher : IDisposable
{
    /// <summary>Handback dispatches get ids of their own, above every id the accept loop hands out (it counts from 1).</summary>
    private const ulong HandbackIdBase = 1UL << 63;

    private readonly RouteTable _routes;
    private readonly IReadOnlyDictionary<string, WorkerPool> _pools;
    private readonly SocketPoller _poller;
    private readonly HttpHeadLimits _headLimits;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposing = new();
    private readonly CancellationToken _stopping;
    private long _nextId;

    /// <summary>Takes the handbacks of every pool's workers.</summary>
    public HandbackDispatcher(
        BatonOptions options, IReadOnlyDictionary<string, WorkerPool> pools, SocketPoller poller, BatonMetrics metrics, ILogger logger)
    {
        _routes = new RouteTable(options);
        _pools = pools;
        _poller = poller;
        _headLimits = new HttpHeadLimits { MaxHeadBytes = options.Limits.MaxRequestHeadBytes };
        _metrics = metrics;
        _logger = logger;
        _stopping = _disposing.Token;
        foreach (WorkerPool pool in pools.Values)
            pool.HandbackReceived = Receive;
    }

    /// <summary>Handbacks still being dispatched give up (the front is stopping).</summary>
    public void Dispose() => _disposing.Cancel();

    /// <summary>Called on a worker's channel thread: the work runs on the thread pool.</summary>
    public void Receive(HandbackArrival arrival) => _ = Task.Run(() => HandleAsync(arrival));

    private async Task HandleAsync(HandbackArrival arrival)
    {
        ulong newId = HandbackIdBase + (ulong)Interlocked.Increment(ref _nextId);
        PendingHandoff? handoff = null;
        try
        {
            handoff = Prepare(arrival, newId, out string? problem, out WorkerPool? target, out int status);
            if (problem is null)
            {
                if (await target!.DispatchAsync(handoff, _stopping).ConfigureAwait(false) == DispatchOutcome.HandedOff)
                {
                    arrival.Acknowledge();
                    _metrics.HandedOff(target.Name);
                    _metrics.HandedBack(arrival.FromPool, target.Name);
                    _logger.ConnectionHandedBack(arrival.Id, arrival.FromPool, arrival.FromPid, target.Name, newId);
                    return;
                }
                (problem, status) = ($"no worker of pool {target.Name} took it", 503);
            }
            // The front holds the connection now: the old worker may let go, and the front answers.
            arrival.Acknowledge();
            _logger.HandbackFailed(arrival.Id, arrival.FromPool, $"{problem}; answered {status}");
            await AnswerAsync(handoff, status).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A bug costs this connection, never the front. Without an Ack the old worker answers it itself.
            _logger.HandbackFailed(arrival.Id, arrival.FromPool, ex.ToString());
        }
        finally
        {
            handoff?.Dispose();
            arrival.Dispose();
        }
    }

    /// <summary>
    /// The handoff for the carried request's pool (or for the old pool, when the front answers it itself). Whatever
    /// throws on the way leaves nothing behind: the descriptor is closed and the copied body (the session's keys) wiped.
    /// </summary>
    private PendingHandoff Prepare(HandbackArrival arrival, ulong newId, out string? problem, out WorkerPool? target, out int status)
    {
        SafeSocketHandle? handle = null;
        PolledSocket? socket = null;
        byte[]? body = null;
        ConnectionFacts? facts = null;
        try
        {
            handle = new SafeSocketHandle(arrival.TakeFd(), ownsHandle: true);
            socket = new PolledSocket(new Socket(handle), _poller);
            facts = ConnectionFacts.ReadFrom(arrival.Body, out _);
            problem = Route(facts, out target, out status);
            string pool = target?.Name ?? facts.Pool;
            body = ArrayPool<byte>.Shared.Rent(arrival.BodyLength + ChannelCodec.MaxNameBytes);
            int length = ConnectionFacts.WithPool(arrival.Body, pool, body);
            return new PendingHandoff(newId, pool, socket, body, length);
        }
        catch
        {
            if (socket is not null) socket.Dispose();
            else handle?.Dispose();
            if (body is not null)
            {
                CryptographicOperations.ZeroMemory(body);
                ArrayPool<byte>.Shared.Return(body);
            }
            throw;
        }
        finally
        {
            facts?.Wipe();
        }
    }

    /// <summary>The pool for the carried request, or why there is none and the status the front answers with.</summary>
    private string? Route(ConnectionFacts facts, out WorkerPool? target, out int status)
    {
        target = null;
        status = 400;
        if (HttpRequestHeadParser.Parse(facts.InitialData.Span, _headLimits, out HttpRequestHead? head, out HttpHeadError error) != ParseStatus.Complete)
        {
            status = error == HttpHeadError.None ? 400 : error.ToStatusCode();
            return $"the carried request head is not complete and valid ({error})";
        }
        target = _pools[_routes.SelectWithRequest(facts.Listener!, facts.ServerName, head!.Host, head.NormalizedPath)];
        if (target.Mode == HandoffMode.Handoff) return null;
        status = 421;
        return $"request routed to passthrough pool {target.Name}";
    }

    /// <summary>The front's own answer over the carried session (user-space record layer), then close_notify; bounded in time.</summary>
    private static async Task AnswerAsync(PendingHandoff handoff, int status)
    {
        if (OpenCarriedSession(handoff) is not TlsRecordStream tls)
            return;
        await using var _ = tls;
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await tls.WriteAsync(Response(status), bounded.Token).ConfigureAwait(false);
            await tls.ShutdownAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone or not reading; the log line says why it was closed.
        }
    }

    /// <summary>The user-space record layer over the carried session (the socket stays the handoff's to close).</summary>
    private static TlsRecordStream? OpenCarriedSession(PendingHandoff handoff)
    {
        ConnectionFacts facts = ConnectionFacts.ReadFrom(handoff.Body, out ReadOnlySpan<byte> tlsState);
        if (!TlsSessionState.TryRead(tlsState, out TlsSessionState? state, out _))
            return null;
        var tls = new TlsRecordStream(new PolledSocketStream(handoff.Socket), state!, default, facts.InitialCiphertext, leaveInnerStreamOpen: true);
        facts.Wipe();
        return tls;
    }

    private static byte[] Response(int status) =>
        TerminatedConnection.Http1Response(status, status == 503 ? "Retry-After: 1\r\n" : "");
}
