using System.Buffers;
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

namespace Baton.Front;

/// <summary>
/// Takes one accepted connection from the listener to a worker: PROXY header, ClientHello, route,
/// then dispatch. Every failure closes only this connection, with one log line and one counter.
/// </summary>
internal sealed class FrontConnectionHandler
{
    private readonly LimitOptions _limits;
    private readonly Router _router;
    private readonly IReadOnlyDictionary<string, WorkerPool> _pools;
    private readonly SocketPoller _poller;
    private readonly HandoffTermination _handoff;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;

    public FrontConnectionHandler(
        BatonOptions options, IReadOnlyDictionary<string, WorkerPool> pools, SocketPoller poller, HandoffTermination handoff,
        BatonMetrics metrics, ILogger logger)
    {
        _handoff = handoff;
        _limits = options.Limits;
        _router = new Router(options);
        _pools = pools;
        _poller = poller;
        _metrics = metrics;
        _logger = logger;
    }

    public async Task HandleAsync(Socket accepted, ListenerOptions listener, ulong id, CancellationToken stopping)
    {
        var socket = new PolledSocket(accepted, _poller);
        PendingHandoff? handoff = null;
        // Formatted only if a log line is written: this runs for every connection.
        IPEndPoint? remote = socket.RemoteEndPoint;
        try
        {
            ConnectionFacts facts = await InspectAsync(socket, listener, stopping).ConfigureAwait(false);
            remote = facts.RemoteEndPoint ?? remote;
            WorkerPool pool = _pools[facts.Pool];
            handoff = CreateHandoff(id, socket, facts);
            if (!await pool.DispatchAsync(handoff, stopping).ConfigureAwait(false))
                throw new ConnectionRejectedException(RejectReason.NoWorker, $"no worker of pool {pool.Name} took it within {_limits.DispatchTimeout}");
            _metrics.HandedOff(pool.Name);
            _logger.ConnectionHandedOff(id, remote, pool.Name);
        }
        catch (ConnectionRejectedException ex)
        {
            Fail(id, remote, ex.Reason, ex.Message);
            await AnswerRejectionAsync(socket, ex.Reason).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            Fail(id, remote, RejectReason.SocketError, ex.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A bug must cost one connection, never the front: log it loudly with its type.
            Fail(id, remote, RejectReason.InternalError, ex.ToString());
        }
        finally
        {
            if (handoff is not null)
                handoff.Dispose();
            else
                socket.Dispose();
        }
    }

    private async Task<ConnectionFacts> InspectAsync(PolledSocket socket, ListenerOptions listener, CancellationToken stopping)
    {
        var remote = socket.RemoteEndPoint;
        var local = socket.LocalEndPoint;
        if (listener.ProxyProtocol)
        {
            ProxyHeader header = await ConnectionInspector.ReadProxyHeaderAsync(socket, _limits.ProxyHeaderTimeout, stopping).ConfigureAwait(false);
            if (!header.IsLocal && header.Source is not null)
            {
                remote = header.Source;
                local = header.Destination;
            }
        }
        ClientHelloInfo hello = await ConnectionInspector.PeekClientHelloAsync(
            socket, _limits.ClientHelloMaxBytes, _limits.ClientHelloTimeout, stopping).ConfigureAwait(false);
        WorkerPool? pool = _router.SelectBeforeRequest(listener.Name, hello.ServerName) is string name ? _pools[name] : null;
        if (pool is null || pool.Mode == HandoffMode.Handoff)
            return await _handoff.TerminateAsync(socket, listener.Name, remote, local, hello.ServerName, pool, stopping).ConfigureAwait(false);
        return new ConnectionFacts
        {
            Mode = HandoffMode.Passthrough,
            Pool = pool.Name,
            RemoteEndPoint = remote,
            LocalEndPoint = local,
            ServerName = hello.ServerName,
            OfferedAlpn = hello.ApplicationProtocols,
        };
    }

    private static PendingHandoff CreateHandoff(ulong id, PolledSocket socket, ConnectionFacts facts)
    {
        byte[] body = ArrayPool<byte>.Shared.Rent(facts.EncodedLengthUpperBound);
        try
        {
            int length = facts.WriteTo(body);
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

    /// <summary>A plain-HTTP client gets a readable 400; a broken TLS client gets a fatal alert.</summary>
    private static async Task AnswerRejectionAsync(PolledSocket socket, string reason)
    {
        ReadOnlyMemory<byte> answer = reason switch
        {
            RejectReason.PlainHttp => PlainHttp.BadRequestResponse,
            RejectReason.ClientHelloInvalid or RejectReason.ClientHelloTooLarge => TlsAlerts.DecodeError,
            RejectReason.ClientHelloUnexpectedRecord => TlsAlerts.UnexpectedMessage,
            _ => ReadOnlyMemory<byte>.Empty,
        };
        if (answer.IsEmpty)
            return;
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.SendAsync(answer, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // The answer is a courtesy to a client that already broke the protocol.
        }
    }

    private void Fail(ulong id, IPEndPoint? remote, string reason, string detail)
    {
        _metrics.Failed(reason);
        _logger.ConnectionFailed(id, remote, reason, detail);
    }
}
