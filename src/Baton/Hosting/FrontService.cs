using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Front;
using Baton.IO;
using Baton.Supervisor;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>
/// The front process: spawns every pool's workers, waits until they are ready, then accepts on
/// every listener. On stop it closes the listeners first, then drains the workers.
/// </summary>
internal sealed class FrontService : IHostedService, IDisposable
{
    private readonly BatonOptions _options;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(Socket Socket, ListenerOptions Options)> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly SocketPoller _poller = new();
    private readonly CertificateStore _certificates;
    /// <summary>The front's one ticket-key ring: the handoff front's and, sent over their channels, every passthrough worker's.</summary>
    private readonly TicketKeyRing _ticketKeys;
    private TicketKeyDistribution? _ticketKeyDistribution;
    private FrontConnectionHandler? _handler;
    private Dictionary<string, WorkerPool> _pools = [];
    private long _nextConnectionId;
    private ConnectionSlots? _slots;

    public FrontService(BatonOptions options, CertificateStore certificates, BatonMetrics metrics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _certificates = certificates;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("Baton.Front");
        _ticketKeys = TicketKeyRing.ForFront(options.SessionTickets);
    }

    /// <summary>For a reload: replaces the ring's keys (a new key file's contents) and sends them to every passthrough worker.</summary>
    internal void ReplaceTicketKeys(ReadOnlySpan<byte> entries)
    {
        _ticketKeys.ReplaceKeys(entries);
        _ticketKeyDistribution?.Tick();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_certificates.SelfSignedFingerprint is string fingerprint)
            _logger.SelfSignedCertificate(fingerprint);
        IEnumerable<string> warnings = BatonOptionsValidator.Warnings(_options)
            .Concat(BatonOptionsValidator.WorkerUserWarnings(_options, frontIsRoot: Interop.Libc.GetEUid() == 0))
            .Concat(_certificates.Warnings);
        foreach (string warning in warnings)
            _logger.ConfigurationWarning(warning);
        // Bound before any worker starts: a port in use ends the start at once. The kernel queues
        // connections in the backlog until the accept loops run.
        foreach (ListenerOptions listener in _options.Listeners)
            _listeners.Add((Bind(listener), listener));
        ConnectionSlots slots = _slots = CreateSlots();

        await StartPoolsAsync(cancellationToken).ConfigureAwait(false);
        _ticketKeyDistribution = new TicketKeyDistribution(_ticketKeys, _pools.Values, _options.SessionTickets, _logger);
        _handler = new FrontConnectionHandler(_options, _pools, _poller, _certificates, slots, _metrics, _logger, _ticketKeys);
        foreach ((Socket socket, ListenerOptions listener) in _listeners)
            _acceptLoops.Add(AcceptLoopAsync(socket, listener, _handler, slots));
        _logger.Ready(
            Environment.ProcessId,
            string.Join(", ", _listeners.Select(l => $"https://{l.Socket.LocalEndPoint} ({l.Options.Name})")),
            string.Join(", ", _pools.Values.Select(p => $"{p.Name}=[{string.Join(",", p.Workers.Select(w => w.Pid))}]")));
    }

    /// <summary>
    /// The connection cap: the configured one, lowered to what the descriptor limit leaves (measured with the listeners
    /// bound, before any worker's channel exists). No room at all ends the start here, before a worker is spawned.
    /// </summary>
    private ConnectionSlots CreateSlots()
    {
        DescriptorLimit limit = DescriptorLimit.Current;
        int open = DescriptorLimit.CountOpen();
        int workers = _options.Pools.Values.Sum(pool => pool.Workers);
        int configured = _options.Limits.MaxFrontConnections;
        int cap = ConnectionSlots.CapFor(configured, limit, open, workers);
        int reserve = ConnectionSlots.Reserve(workers);
        if (cap == 0)
            throw new InvalidOperationException(
                $"the descriptor limit {limit} leaves no room for connections: {open} descriptors are open and {reserve} are kept " +
                "free for the runtime and the workers' channels; raise it (ulimit -n, systemd LimitNOFILE=)");
        _logger.ConnectionCap(cap < configured ? LogLevel.Warning : LogLevel.Information, cap, configured, limit.ToString(), open, reserve);
        return new ConnectionSlots(cap, _options.Limits.PressureTimeout, _logger);
    }

    private async Task StartPoolsAsync(CancellationToken cancellationToken)
    {
        var launcher = new WorkerLauncher(_options, _certificates, _ticketKeys);
        _pools = _options.Pools.ToDictionary(
            pool => pool.Key,
            pool => new WorkerPool(pool.Key, pool.Value, _options.Limits, launcher, _metrics, _logger),
            StringComparer.Ordinal);
        foreach (WorkerPool pool in _pools.Values)
            pool.Start();
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(_options.Limits.WorkerStartTimeout);
            foreach (WorkerPool pool in _pools.Values)
            {
                try
                {
                    await pool.WaitReadyAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await Task.WhenAll(_pools.Values.Select(p => p.StopAsync(_options.Limits.ShutdownTimeout))).ConfigureAwait(false);
                    throw new InvalidOperationException(
                        $"the workers of pool '{pool.Name}' did not all report ready within {_options.Limits.WorkerStartTimeout}; their log lines above say why");
                }
            }
        }
    }

    private Socket Bind(ListenerOptions listener)
    {
        IPEndPoint endPoint = IPEndPoint.Parse(listener.Address);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Not .NET's ReuseAddress: on Linux it sets SO_REUSEPORT too, and a second front would then bind the
            // same port and take half the connections. SO_REUSEADDR alone only lets a restart bind while old
            // connections are in TIME_WAIT; SO_REUSEPORT only when the listener asks for sharding.
            SetFlag(socket, Interop.Libc.SO_REUSEADDR);
            if (listener.ReusePort)
                SetFlag(socket, Interop.Libc.SO_REUSEPORT);
            // Accepted sockets inherit TCP_NODELAY from the listener (Linux copies it on accept).
            socket.NoDelay = true;
            socket.Bind(endPoint);
            socket.Listen(511);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new InvalidOperationException(ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"address already in use: {listener.Address} (listener {listener.Name})"
                : $"cannot listen on {listener.Address} (listener {listener.Name}): {ex.Message}", ex);
        }
        _logger.Listening(socket.LocalEndPoint!.ToString()!, listener.Name, listener.ProxyProtocol);
        return socket;
    }

    private static void SetFlag(Socket socket, int option) =>
        socket.SetRawSocketOption(Interop.Libc.SOL_SOCKET, option, BitConverter.GetBytes(1));

    private async Task AcceptLoopAsync(Socket listenerSocket, ListenerOptions listener, FrontConnectionHandler handler, ConnectionSlots slots)
    {
        CancellationToken stopping = _stopping.Token;
        int failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                // At the cap the front stops accepting (the kernel's backlog holds the rest) rather than run out of descriptors.
                await slots.AcquireAsync(stopping).ConfigureAwait(false);
                accepted = await listenerSocket.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // EMFILE and friends: back off briefly instead of spinning on the same error, with one line per episode.
                slots.Release();
                if (failures++ == 0)
                    _logger.AcceptFailed(listener.Name, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            if (failures > 0)
            {
                _logger.AcceptRecovered(listener.Name, failures);
                failures = 0;
            }
            _metrics.Accepted(listener.Name);
            ulong id = (ulong)Interlocked.Increment(ref _nextConnectionId);
            _ = HandleAsync(handler, accepted, listener, id, slots, stopping);
        }
    }

    private static async Task HandleAsync(
        FrontConnectionHandler handler, Socket accepted, ListenerOptions listener, ulong id, ConnectionSlots slots, CancellationToken stopping)
    {
        try
        {
            await handler.HandleAsync(accepted, listener, id, stopping).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        foreach ((Socket socket, _) in _listeners)
            socket.Dispose();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        _logger.ShuttingDown(_options.Limits.ShutdownTimeout);
        await Task.WhenAll(_pools.Values.Select(pool => pool.StopAsync(_options.Limits.ShutdownTimeout))).ConfigureAwait(false);
    }

    public void Dispose()
    {
        // Also when the start failed half-way and StopAsync never ran.
        foreach ((Socket socket, _) in _listeners)
            socket.Dispose();
        _stopping.Dispose();
        _slots?.Dispose();
        _ticketKeyDistribution?.Dispose();
        _poller.Dispose();
        _handler?.Dispose();
    }
}
