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
/// every listener. On stop it closes the listeners first, then drains the workers. Each connection is accepted with
/// the current <see cref="FrontGeneration"/>, which a reload replaces (FrontService.Reload.cs).
/// </summary>
internal sealed partial class FrontService : IHostedService, IDisposable
{
    private readonly BatonOptions _options;
    private readonly BatonMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly CancellationTokenSource _accepting = new();
    private readonly CancellationTokenSource _stopping = new();
    /// <summary>Replaced, not changed, by a reload (FrontService.Reload.cs).</summary>
    private volatile List<AcceptingListener> _listeners = [];
    /// <summary>The front's event loops: a connection runs on one of them from its first wait to its handoff.</summary>
    private readonly SocketPoller _poller;
    private readonly CertificateStore _certificates;
    private readonly InheritedListeners _inherited;
    private readonly StartedBy? _startedBy;
    private readonly ServiceNotifier? _notifier;
    private volatile FrontGeneration? _current;
    private WorkerLauncher? _launcher;
    /// <summary>Keeps every passthrough worker on the front's ticket-key ring (the launcher's: the current generation's).</summary>
    private TicketKeyDistribution? _ticketKeyDistribution;
    private Dictionary<string, WorkerPool> _pools = [];
    private long _nextConnectionId;
    /// <summary>Connections accepted and not yet handed off or closed (the slots also count each accept loop's next one).</summary>
    private int _inFront;
    private ConnectionSlots? _slots;

    public FrontService(
        BatonOptions options, CertificateStore certificates, BatonMetrics metrics, ILoggerFactory loggerFactory,
        InheritedListeners inherited, FrontSource? source = null, StartedBy? startedBy = null, ServiceNotifier? notifier = null)
    {
        _startedBy = startedBy;
        _notifier = notifier;
        _options = options;
        _poller = new SocketPoller(options.EventLoopCount, runToCompletion: true);
        _inherited = inherited;
        _certificates = certificates;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("Baton.Front");
        _loggerFactory = loggerFactory;
        _source = source ?? new FrontSource(null, new FrontOverrides());
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
        {
            Socket socket = _inherited.Take(listener) is Socket given ? Inherited(given, listener) : Bind(listener);
            _listeners.Add(new AcceptingListener(FrontGeneration.ListenerKey(listener), socket, _accepting.Token));
        }
        ConnectionSlots slots = _slots = CreateSlots();
        StartControl();

        await StartPoolsAsync(cancellationToken).ConfigureAwait(false);
        FrontGeneration generation = _current = CreateGeneration(1, _options, _certificates, _pools, previous: null);
        foreach (AcceptingListener listener in _listeners)
            listener.Start(AcceptLoopAsync(listener, slots));
        WatchCertificates(_options);
        _ticketKeyDistribution = new TicketKeyDistribution(() => _launcher!.TicketKeys, () => _pools.Values, _options.SessionTickets, _logger);
        ObserveForMetrics();
        _logger.Ready(
            Environment.ProcessId,
            string.Join(", ", _listeners.Select(l => $"https://{l.Socket.LocalEndPoint} ({generation.Listener(l.Key)!.Name})")),
            string.Join(", ", _pools.Values.Select(p => $"{p.Name}=[{string.Join(",", p.Workers.Select(w => w.Pid))}]")));
        IsServing = true;
    }

    /// <summary>Started and not yet stopping: the accept loops run.</summary>
    public bool IsServing { get; private set; }

    /// <summary>The listening sockets by listener name, for a binary upgrade to pass on.</summary>
    public IReadOnlyList<(string Name, Socket Socket)> ListeningSockets =>
        [.. _listeners.Where(l => !l.Closing.IsCancellationRequested).Select(l => (_current!.Listener(l.Key)!.Name, l.Socket))];

    /// <summary>
    /// Set by a binary upgrade: on stop, the connections the front holds (being inspected, in a handshake, waiting for a
    /// worker) are handed off while the workers still run, for up to ShutdownTimeout, instead of being closed.
    /// </summary>
    public bool HandOffHeldConnectionsOnStop { get; set; }

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

    /// <summary>What the gauges read at each collection; a reload that swaps the certificates calls ObserveCertificates again.</summary>
    private void ObserveForMetrics()
    {
        _metrics.ObserveFront(() => Volatile.Read(ref _inFront), () => _pools.Values.Select(pool =>
            new PoolLoad(pool.Name, pool.Workers.Select(worker => new WorkerLoad(worker.Pid, worker.Outstanding)).ToArray())));
        _metrics.ObserveCertificates(CertificateExpiries.Of(_certificates));
    }

    private async Task StartPoolsAsync(CancellationToken cancellationToken)
    {
        // The front's one ticket-key ring exists before any worker: passthrough workers start with its keys.
        var launcher = _launcher = new WorkerLauncher(_options, _certificates, TicketKeyRing.For(_options.SessionTickets));
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

    /// <summary>A listening socket given by systemd or the previous front: already bound and listening, used as it is.</summary>
    private Socket Inherited(Socket socket, ListenerOptions listener)
    {
        socket.NoDelay = true;
        _logger.ListeningInherited(socket.LocalEndPoint!.ToString()!, listener.Name, listener.ProxyProtocol, _inherited.Source);
        return socket;
    }

    private static void SetFlag(Socket socket, int option) =>
        socket.SetRawSocketOption(Interop.Libc.SOL_SOCKET, option, BitConverter.GetBytes(1));

    /// <summary>The current generation, referenced; retried when a reload retires it in between.</summary>
    private FrontGeneration EnterCurrentGeneration()
    {
        while (true)
        {
            FrontGeneration generation = _current!;
            if (generation.TryEnter())
                return generation;
        }
    }

    private async Task HandleAsync(
        FrontGeneration generation, Socket accepted, ListenerOptions listener, ulong id, ConnectionSlots slots, CancellationToken stopping)
    {
        try
        {
            await generation.Handler.HandleAsync(accepted, listener, id, stopping).ConfigureAwait(false);
        }
        finally
        {
            generation.Exit();
            Interlocked.Decrement(ref _inFront);
            slots.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        IsServing = false;
        _watcher?.Dispose();
        await StopControlAsync().ConfigureAwait(false);
        // The accepts end (and no reload starts) before anything else: after an upgrade the listening sockets are the new
        // front's too, and a reload in progress finishes (or gives up) before the listeners and pools it may change stop.
        _accepting.Cancel();
        await _reloadGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        await Task.WhenAll(_listeners.Select(l => l.CloseAsync())).ConfigureAwait(false);
        if (HandOffHeldConnectionsOnStop)
            await HandOffHeldAsync().ConfigureAwait(false);
        _stopping.Cancel();
        _logger.ShuttingDown(_options.Limits.ShutdownTimeout);
        await Task.WhenAll(_pools.Values.Select(pool => pool.StopAsync(_options.Limits.ShutdownTimeout)).Concat(_retiring)).ConfigureAwait(false);
    }

    /// <summary>
    /// After an upgrade: the connections the front holds go to the workers while they still take them, and then the
    /// workers get <see cref="UpgradeWorkerGrace"/> more. A connection a worker acknowledged a moment ago may still be
    /// in its TLS handshake (passthrough) with its first request on the way, and Kestrel's graceful stop closes every
    /// connection that has no request yet; a client whose new connection is closed unanswered does not retry.
    /// </summary>
    private async Task HandOffHeldAsync()
    {
        if (_slots is { Held: > 0 } slots)
        {
            _logger.DrainingHeldConnections(slots.Held, _options.Limits.ShutdownTimeout);
            await slots.WaitUntilNoneHeldAsync(_options.Limits.ShutdownTimeout).ConfigureAwait(false);
        }
        await Task.Delay(UpgradeWorkerGrace).ConfigureAwait(false);
    }

    /// <summary>A handshake and a first request's way on a slow network, many times over; the upgrade's only fixed cost.</summary>
    public static readonly TimeSpan UpgradeWorkerGrace = TimeSpan.FromSeconds(2);

    public void Dispose()
    {
        // Also when the start failed half-way and StopAsync never ran.
        foreach (AcceptingListener listener in _listeners)
            listener.Close();
        _watcher?.Dispose();
        // A start that failed after the control socket was bound: its file goes too. Quick, nothing to wait for.
        StopControlAsync().GetAwaiter().GetResult();
        _accepting.Dispose();
        _stopping.Dispose();
        _slots?.Dispose();
        _ticketKeyDistribution?.Dispose();
        _poller.Dispose();
        if (_current is FrontGeneration current)
        {
            current.Retire();
            // The start's certificates are the host's; those of a reload are this service's to wipe.
            if (!ReferenceEquals(current.Certificates, _certificates))
                current.Certificates.Dispose();
        }
        _reloadGate.Dispose();
    }
}
