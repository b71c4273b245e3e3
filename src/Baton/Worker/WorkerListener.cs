using Microsoft.Win32.SafeHandles;
using System.Globalization;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.IO;
using Baton.Tls;
using Baton.Tls.Records;

namespace Baton.Worker;

/// <summary>
/// A worker's end of the channel: takes its settings from the front, says Ready, then yields the
/// connections the front hands over, each already acknowledged (the front has let go of it). Out of
/// descriptors it refuses connections (Rejected) until it has room again, then says Ready again.
/// </summary>
internal sealed partial class WorkerListener : IAsyncDisposable
{
    /// <summary>How often a worker that refused for lack of descriptors looks for room again.</summary>
    private static readonly TimeSpan ResumeInterval = TimeSpan.FromMilliseconds(250);

    private readonly ChannelSocket _channel;
    private readonly ILogger _logger;
    private readonly int _maxConnections;
    private readonly Timer _resume;
    /// <summary>Readiness for every connection this worker is handed (no .NET Socket per connection).</summary>
    private readonly ReadinessLoop _readiness;
    private readonly Channel<WorkerConnection> _accepted = System.Threading.Channels.Channel.CreateUnbounded<WorkerConnection>(
        new UnboundedChannelOptions { SingleWriter = true });
    private WorkerSettings? _settings;
    private TlsServerContext? _tls;
    /// <summary>Passthrough: the front's ring, replaced by every TicketKeys message and kept for the contexts a reload makes.</summary>
    private TicketKeyRing? _ticketKeys;
    /// <summary>Passthrough: the front's client-certificate settings, numbered from 1 as the facts name them.</summary>
    private ClientCertificatePolicy[] _clientCertificates = [];
    private Thread? _receiveThread;
    private readonly Lock _acceptGate = new();
    private readonly CancellationTokenSource _draining = new();
    private bool _stopAccepting;
    private static readonly Lock s_userGate = new();
    private static bool s_userAssumed;
    private ConnectionBudget? _budget;
    private bool _refusing;

    /// <summary>Over an already checked channel (<see cref="FromEnvironment(ILogger)"/>; tests pass one end of a socketpair).</summary>
    /// <param name="maxConnections">The most connections held at once when the descriptor limit allows more.</param>
    /// <param name="inlineContinuations">Socket waits continue on the readiness loop's thread (<see cref="ReadinessLoop"/>).</param>
    internal WorkerListener(ChannelSocket channel, ILogger logger, int maxConnections = int.MaxValue, bool inlineContinuations = false)
    {
        _readiness = new ReadinessLoop("baton-worker-io", inlineContinuations);
        _channel = channel;
        _logger = logger;
        _maxConnections = maxConnections;
        _resume = new Timer(static state => ((WorkerListener)state!).TryResume(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The loop this worker's connections wait on; the relay puts its backend connections there too.</summary>
    internal ReadinessLoop Readiness => _readiness;

    /// <summary>The pool settings the front sent; available after <see cref="StartAsync"/>.</summary>
    internal WorkerSettings Settings => _settings ?? throw new InvalidOperationException("the listener has not started");

    /// <summary>Why the channel stopped yielding connections when it was not the front closing it; null otherwise.</summary>
    public string? ChannelFailure { get; private set; }

    /// <summary>Cancelled when the front sends Drain: this worker's generation is being replaced.</summary>
    public CancellationToken Draining => _draining.Token;

    /// <summary>True when this process was started by a Baton front (it passed a channel).</summary>
    public static bool IsStartedByFront => Environment.GetEnvironmentVariable(WorkerEnvironment.ChannelFdVariable) is not null;

    /// <summary>
    /// Drops this process to the pool's <c>User</c> (the front passes it in BATON_WORKER_USER), once. UseBaton calls
    /// it before any of the app's services exist, so that only the code before that call runs as the front's user;
    /// <see cref="FromEnvironment(ILogger)"/> calls it again for a host that opens the channel without UseBaton.
    /// </summary>
    public static void AssumeWorkerUser()
    {
        if (Environment.GetEnvironmentVariable(WorkerEnvironment.UserVariable) is not { Length: > 0 } user)
            return;
        lock (s_userGate)
        {
            // Set only once the switch succeeded: a failed one must fail again, never leave the process as root.
            if (s_userAssumed)
                return;
            ProcessIdentity.SwitchTo(user);
            s_userAssumed = true;
        }
    }

    /// <summary>Opens the channel the front passed at spawn; throws with one clear line when there is none.</summary>
    public static WorkerListener FromEnvironment(ILogger logger) => FromEnvironment(logger, inlineContinuations: false);

    /// <inheritdoc cref="FromEnvironment(ILogger)"/>
    internal static WorkerListener FromEnvironment(ILogger logger, bool inlineContinuations)
    {
        // First: the runtime's own opens (assemblies) must not meet a soft limit below what the system allows.
        DescriptorLimit.RaiseSoftToHard();
        string? value = Environment.GetEnvironmentVariable(WorkerEnvironment.ChannelFdVariable);
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            throw new InvalidOperationException(
                $"this process is a Baton worker but was not started by a Baton front ({WorkerEnvironment.ChannelFdVariable} is not set)");
        AssumeWorkerUser();
        ChannelSocket channel = ChannelSocket.FromInheritedFd(fd);
        int peer = channel.GetPeerCredentials().Pid;
        int parent = Interop.Libc.GetParentPid();
        if (peer != parent)
        {
            channel.Dispose();
            throw new InvalidOperationException($"channel fd {fd} belongs to pid {peer}, not to the parent front {parent}");
        }
        return new WorkerListener(channel, logger, inlineContinuations: inlineContinuations);
    }

    /// <summary>
    /// Receives the settings, prepares TLS, measures its descriptors, reports Ready and starts taking connections.
    /// Whatever can fail runs before Ready: a worker that cannot start throws (and exits) instead of being sent connections.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _settings = await Task.Run(ReceiveSettings, cancellationToken).ConfigureAwait(false);
        if (_settings.Mode == HandoffMode.Passthrough)
        {
            // The front's ring (its key file or its rotating keys, which it sends again at every change), so a session resumes
            // on any worker; without one (a front that sends none) OpenSSL's own keys for this worker alone.
            _ticketKeys = _settings.TicketKeys.Length > 0 ? TicketKeyRing.FromKeys(_settings.TicketKeys) : null;
            // The staples the front read at this worker's start; checked here as the front checks them, never reread.
            OcspResponseSource?[] staples = [.. _settings.OcspResponses.Select(r => r.Length > 0 ? new OcspResponseSource(null, r) : null)];
            _tls = TlsContextFactory.Create(_settings.Certificates, _settings.AcceptedAlpn, _settings.TicketsPerHandshake, _ticketKeys,
                options => options.Logger = _logger, staples);
            _clientCertificates = ClientCertificatePolicySet.Create(_settings.ClientCertificates);
        }
        _settings.Wipe();
        if (_settings.Mode == HandoffMode.Handoff)
            _logger.WorkerRecordLayer(Environment.ProcessId, KernelTls.UnavailableReason is string reason ? $"user space ({reason})" : "the kernel where the session allows it");
        _budget = ConnectionBudget.Measure(_maxConnections);
        _channel.Send(MessageType.Ready, 0, []);
        _logger.WorkerServing(Environment.ProcessId, _settings.Pool, _settings.Mode.ToString().ToLowerInvariant(), _settings.Certificates.Count);
        _receiveThread = new Thread(ReceiveLoop) { IsBackground = true, Name = "baton-worker-channel" };
        _receiveThread.Start();
    }

    private WorkerSettings ReceiveSettings()
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        try
        {
            ReceivedMessage message = _channel.Receive(body);
            if (message.IsEndOfStream || message.Type != MessageType.Configure)
                throw new InvalidOperationException("the front did not send the worker settings first");
            return WorkerSettings.ReadFrom(body.AsSpan(0, message.BodyLength));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
        }
    }

    /// <summary>
    /// The next connection, or null once none will come: the front closed the channel (the worker should drain
    /// and exit) or <see cref="StopAccepting"/> was called and every connection acknowledged before was returned.
    /// </summary>
    public async ValueTask<WorkerConnection?> AcceptAsync(CancellationToken cancellationToken)
    {
        while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_accepted.Reader.TryRead(out WorkerConnection? connection))
                return connection;
        }
        return null;
    }

    /// <summary>
    /// Draining: connections the front sends from now on are answered Rejected (the front still holds
    /// them and hands them to another worker) instead of being acknowledged and left unserved. Those
    /// acknowledged before are still returned by <see cref="AcceptAsync"/>, which then returns null.
    /// </summary>
    public void StopAccepting()
    {
        lock (_acceptGate)
        {
            _stopAccepting = true;
            // Under the gate Accept queues under: nothing is queued after this.
            _accepted.Writer.TryComplete();
            // A draining worker never says Ready again.
            _resume.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    private void ReceiveLoop()
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        try
        {
            while (true)
            {
                ReceivedMessage message = _channel.Receive(body);
                if (message.IsEndOfStream)
                    break;
                if (message.Type == MessageType.Ping)
                    AnswerPing(message.ConnectionId);
                else if (message.Type == MessageType.TicketKeys)
                    ReplaceTicketKeys(body.AsSpan(0, message.BodyLength));
                else if (message.Type == MessageType.Certificates)
                    ReplaceCertificates(body.AsSpan(0, message.BodyLength));
                else if (message.Type == MessageType.HandbackAck)
                    OnHandbackAck(message.ConnectionId);
                else if (message.Type == MessageType.Routes)
                    ReplaceRoutes(body.AsSpan(0, message.BodyLength));
                else if (message.Type == MessageType.Drain)
                    // Its callbacks (one per connection) run on the pool, not on the channel's thread.
                    ThreadPool.UnsafeQueueUserWorkItem(static draining => draining.Cancel(), _draining, preferLocal: false);
                else
                    Accept(message, body.AsSpan(0, message.BodyLength));
                // Handoff bodies carry TLS secrets: never leave them in the buffer.
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(body.AsSpan(0, message.BodyLength));
            }
        }
        catch (Exception ex)
        {
            // A broken channel ends this worker's intake; the connections it is serving go on.
            ChannelFailure = ex.Message;
            _logger.WorkerChannelBroken(Environment.ProcessId, ex.Message);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
            _accepted.Writer.TryComplete();
            FailPendingHandbacks();
        }
    }

    /// <summary>The front's new ring; a worker without one (handoff, or started without keys) is sent none, so this is a protocol error.</summary>
    private void ReplaceTicketKeys(ReadOnlySpan<byte> body)
    {
        TicketKeysUpdate update = TicketKeysUpdate.ReadFrom(body);
        try
        {
            if (_ticketKeys is null)
                throw new ChannelProtocolException(ChannelError.InvalidFieldValue, "ticket keys for a worker that holds none");
            _ticketKeys.ReplaceKeys(update.Keys);
            _logger.WorkerTicketKeysReplaced(Environment.ProcessId, update.Keys.Length / TicketKeyRing.KeyEntryLength);
        }
        finally
        {
            update.Wipe();
        }
    }

    private void Accept(ReceivedMessage message, ReadOnlySpan<byte> body)
    {
        if (message.FdDropped)
        {
            lock (_acceptGate)
                Refuse(message.ConnectionId, $"the kernel could not give it connection {message.ConnectionId}'s descriptor (its descriptor limit is reached)");
            return;
        }
        SafeFdHandle fd = message.Fd!;
        ConnectionFacts facts;
        ReadOnlySpan<byte> tlsState;
        try
        {
            facts = ConnectionFacts.ReadFrom(body, out tlsState);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        // Decided under the same lock as StopAccepting: a connection is either refused (the front
        // still has it) or acknowledged and queued, never acknowledged after draining began.
        lock (_acceptGate)
        {
            if (_stopAccepting || _refusing || !_budget!.TryTake())
            {
                fd.Dispose();
                facts.Wipe();
                Refuse(message.ConnectionId, _budget!.ToString());
                return;
            }
            HandedOffSocket socket;
            try
            {
                socket = new HandedOffSocket(fd, _readiness);
            }
            catch
            {
                // The readiness loop stopped: the intake is over (the receive loop ends), and this connection is not kept.
                fd.Dispose();
                facts.Wipe();
                _budget!.Release();
                throw;
            }
            _channel.Send(MessageType.Ack, message.ConnectionId, []);
            _accepted.Writer.TryWrite(new WorkerConnection(
                message.ConnectionId, facts, tlsState, socket, _tls, Settings.HandshakeTimeout, OnClosed, this, _clientCertificates));
        }
    }

    /// <summary>
    /// A reload in the front: connections received from now on are served with the new certificates; those received
    /// before keep the context they were given (each holds a reference on it). Runs on the receive thread, in channel
    /// order, so the front knows which connections get which. A handoff worker holds no keys: for it this is a
    /// protocol error, as is a body that does not read (the channel then fails, and the front restarts the worker).
    /// </summary>
    private void ReplaceCertificates(ReadOnlySpan<byte> body)
    {
        if (Settings.Mode != HandoffMode.Passthrough)
            throw new ChannelProtocolException(ChannelError.WrongDirection, "Certificates sent to a handoff worker, which never holds private keys");
        CertificateUpdate update = CertificateUpdate.ReadFrom(body);
        TlsServerContext replacement;
        try
        {
            replacement = TlsContextFactory.Create(update.Certificates, Settings.AcceptedAlpn, Settings.TicketsPerHandshake, _ticketKeys);
        }
        finally
        {
            update.Wipe();
        }
        TlsServerContext? previous;
        lock (_acceptGate)
            (previous, _tls) = (_tls, replacement);
        previous?.Dispose();
        _logger.WorkerCertificatesReplaced(Environment.ProcessId, update.Certificates.Count);
    }

    /// <summary>
    /// Answers Rejected: the front still holds the connection, gives it to another worker and sends this one no more.
    /// Unless draining, that lasts until there is room: the first refusal logs why and starts looking for it. Called
    /// under the accept gate, so the Ready that ends the episode is never overtaken by one of its refusals.
    /// </summary>
    private void Refuse(ulong connectionId, string reason)
    {
        _channel.Send(MessageType.Rejected, connectionId, []);
        if (_stopAccepting || _refusing)
            return;
        _refusing = true;
        _logger.WorkerRefusing(Environment.ProcessId, reason);
        _resume.Change(ResumeInterval, ResumeInterval);
    }

    /// <summary>With room again (and not draining), says Ready again: the front then sends this worker connections.</summary>
    private void TryResume()
    {
        lock (_acceptGate)
        {
            if (!_refusing || _stopAccepting || !_budget!.HasRoom())
                return;
            _refusing = false;
            _resume.Change(Timeout.Infinite, Timeout.Infinite);
            try
            {
                _channel.Send(MessageType.Ready, 0, []);
            }
            catch (Exception ex) when (ex is Baton.Channel.ChannelClosedException or ObjectDisposedException)
            {
                // The front is gone; the receive loop sees the end of the channel.
                return;
            }
            _logger.WorkerResumed(Environment.ProcessId, _budget.ToString());
        }
    }

    public ValueTask DisposeAsync()
    {
        _resume.Dispose();
        _channel.Dispose();
        _readiness.Dispose();
        _tls?.Dispose();
        foreach (ClientCertificatePolicy policy in _clientCertificates)
            policy.Dispose();
        return ValueTask.CompletedTask;
    }
}
