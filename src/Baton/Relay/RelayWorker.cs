using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Inspection;
using Baton.IO;
using Baton.Tls;
using Baton.Tls.Records;
using Baton.Tls.Session;
using Baton.Worker;

namespace Baton.Relay;

/// <summary>
/// A proxy pool's worker (<c>baton relay</c>): takes the sessions the front terminated and hands over, continues each
/// with the record layer, connects to a backend (<see cref="BackendSet"/>), optionally sends it a PROXY v2 header, and
/// relays (<see cref="RelayConnection"/>). Holds no key: the front keeps the private key, as in handoff mode.
/// </summary>
internal sealed class RelayWorker : IAsyncDisposable
{
    private readonly WorkerListener _listener;
    private readonly ILogger _logger;
    private readonly ConnectionFailureLog _failures;
    private readonly ConcurrentDictionary<ulong, Task> _relays = new();
    private BackendSet? _backends;
    private RelaySettings? _settings;

    public RelayWorker(WorkerListener listener, ILogger logger)
    {
        _listener = listener;
        _logger = logger;
        _failures = new ConnectionFailureLog(logger, TimeProvider.System, ConnectionFailureLog.DefaultInterval, ConnectionFailureLog.DefaultLinesPerReason);
    }

    /// <summary>Serves until the front closes the channel or <paramref name="stopping"/> fires; then lets the relays in flight finish.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        await _listener.StartAsync(stopping).ConfigureAwait(false);
        if (_listener.Settings is not { Mode: HandoffMode.Proxy, Relay: RelaySettings settings })
            throw new InvalidOperationException($"pool {_listener.Settings.Pool} is not a proxy pool: `baton relay` serves only those");
        _settings = settings;
        _backends = new BackendSet(settings, _logger, _listener.Readiness);
        _logger.RelayServing(Environment.ProcessId, _listener.Settings.Pool, string.Join(", ", settings.Backends), settings.SendProxyProtocol,
            KernelTls.UnavailableReason is string reason ? $"records in user space ({reason})" : "records in the kernel where the session allows it");
        using CancellationTokenRegistration draining = stopping.Register(_listener.StopAccepting);
        while (await _listener.AcceptAsync(CancellationToken.None).ConfigureAwait(false) is WorkerConnection connection)
        {
            // Not cancelled by the stop: draining lets every accepted connection run to its end (or its idle timeouts);
            // the front kills the worker at Limits:ShutdownTimeout.
            Task relay = Task.Run(() => ServeAsync(connection), CancellationToken.None);
            _relays[connection.Id] = relay;
            _ = relay.ContinueWith(done => _relays.TryRemove(connection.Id, out _), TaskScheduler.Default);
        }
        if (!_relays.IsEmpty)
            _logger.RelayDraining(Environment.ProcessId, _relays.Count);
        // Draining: the connections in flight go on until they end; the front kills the worker at Limits:ShutdownTimeout.
        await Task.WhenAll(_relays.Values).ConfigureAwait(false);
    }

    private async Task ServeAsync(WorkerConnection connection)
    {
        await using (connection.ConfigureAwait(false))
        {
            string backendName = "-";
            (string Reason, string Detail) end;
            long fromClient = 0, fromBackend = 0;
            try
            {
                TlsStream client = await connection.OpenAsync(CancellationToken.None).ConfigureAwait(false);
                BackendSet.Connected backend;
                try
                {
                    backend = await _backends!.ConnectAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (BackendUnavailableException ex)
                {
                    await AlertAsync(client).ConfigureAwait(false);
                    _failures.Failed(connection.Id, connection.RemoteEndPoint, RelayEnd.BackendUnavailable, $"{ex.Message}; answered an internal_error alert");
                    return;
                }
                using HandedOffSocket backendSocket = backend.Socket;
                backendName = backend.Name;
                if (_settings!.SendProxyProtocol)
                    await SendProxyHeaderAsync(connection, client, backendSocket).ConfigureAwait(false);
                using var relay = new RelayConnection(client, connection.Socket, backendSocket, _settings.ClientIdleTimeout, _settings.BackendIdleTimeout);
                end = await relay.RunAsync().ConfigureAwait(false);
                (fromClient, fromBackend) = (relay.ClientBytes, relay.BackendBytes);
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
            {
                end = (RelayEnd.ClientError, ex.Message);
            }
            catch (Exception ex)
            {
                // A bug must cost one connection, never the relay and the others it carries: logged loudly with its type.
                end = (RelayEnd.InternalError, ex.ToString());
            }
            _logger.RelayEnded(connection.Id, backendName, end.Reason, fromClient, fromBackend);
            if (end.Reason is not RelayEnd.Closed)
                _failures.Failed(connection.Id, connection.RemoteEndPoint, end.Reason, $"{backendName}: {end.Detail}");
        }
    }

    /// <summary>The client's addresses and TLS facts, first on the backend connection (hitch's write-proxy-v2).</summary>
    private static async Task SendProxyHeaderAsync(WorkerConnection connection, TlsStream client, HandedOffSocket backend)
    {
        byte[] header = new byte[ProxyV2Writer.MaxLength];
        int length = ProxyV2Writer.Write(header, new ProxyV2Facts(
            connection.RemoteEndPoint, connection.LocalEndPoint, client.ServerName, client.ApplicationProtocol, client.ProtocolName, client.CipherSuiteName));
        await backend.WriteAsync(header.AsMemory(0, length)).ConfigureAwait(false);
    }

    /// <summary>No backend: the client gets a fatal internal_error alert (TLS has no "try later"), as the front sends when no worker can take it.</summary>
    private static async Task AlertAsync(TlsStream client)
    {
        if (client is not TlsRecordStream records)
            return;
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await records.SendAlertAsync(TlsAlertLevel.Fatal, TlsAlertDescription.InternalError, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The client is gone or not reading; the log line says why it was closed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _backends?.Dispose();
        _failures.Dispose();
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}
