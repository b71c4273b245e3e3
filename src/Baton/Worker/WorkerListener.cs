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
/// connections the front hands over, each already acknowledged (the front has let go of it).
/// </summary>
internal sealed class WorkerListener : IAsyncDisposable
{
    private readonly ChannelSocket _channel;
    private readonly ILogger _logger;
    private readonly Channel<WorkerConnection> _accepted = System.Threading.Channels.Channel.CreateUnbounded<WorkerConnection>(
        new UnboundedChannelOptions { SingleWriter = true });
    private WorkerSettings? _settings;
    private TlsServerContext? _tls;
    private Thread? _receiveThread;
    private readonly Lock _acceptGate = new();
    private bool _stopAccepting;

    /// <summary>Over an already checked channel (<see cref="FromEnvironment"/>; tests pass one end of a socketpair).</summary>
    internal WorkerListener(ChannelSocket channel, ILogger logger)
    {
        _channel = channel;
        _logger = logger;
    }

    /// <summary>The pool settings the front sent; available after <see cref="StartAsync"/>.</summary>
    internal WorkerSettings Settings => _settings ?? throw new InvalidOperationException("the listener has not started");

    /// <summary>True when this process was started by a Baton front (it passed a channel).</summary>
    public static bool IsStartedByFront => Environment.GetEnvironmentVariable(WorkerEnvironment.ChannelFdVariable) is not null;

    /// <summary>Opens the channel the front passed at spawn; throws with one clear line when there is none.</summary>
    public static WorkerListener FromEnvironment(ILogger logger)
    {
        string? value = Environment.GetEnvironmentVariable(WorkerEnvironment.ChannelFdVariable);
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            throw new InvalidOperationException(
                $"this process is a Baton worker but was not started by a Baton front ({WorkerEnvironment.ChannelFdVariable} is not set)");
        if (Environment.GetEnvironmentVariable(WorkerEnvironment.UserVariable) is { Length: > 0 } user)
            ProcessIdentity.SwitchTo(user);
        ChannelSocket channel = ChannelSocket.FromInheritedFd(fd);
        int peer = channel.GetPeerCredentials().Pid;
        int parent = Interop.Libc.GetParentPid();
        if (peer != parent)
        {
            channel.Dispose();
            throw new InvalidOperationException($"channel fd {fd} belongs to pid {peer}, not to the parent front {parent}");
        }
        return new WorkerListener(channel, logger);
    }

    /// <summary>Receives the settings, prepares TLS, reports Ready and starts taking connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _settings = await Task.Run(ReceiveSettings, cancellationToken).ConfigureAwait(false);
        if (_settings.Mode == HandoffMode.Passthrough)
        {
            // The pool's shared ticket keys when the front has a key file, else this worker's own rotating ones.
            TicketKeyRing? tickets = _settings.TicketKeys.Length > 0 ? TicketKeyRing.FromKeys(_settings.TicketKeys) : null;
            _tls = TlsContextFactory.Create(_settings.Certificates, _settings.AcceptedAlpn, _settings.TicketsPerHandshake, tickets);
        }
        _settings.Wipe();
        _channel.Send(MessageType.Ready, 0, []);
        if (_settings.Mode == HandoffMode.Handoff)
            _logger.WorkerRecordLayer(Environment.ProcessId, KernelTls.UnavailableReason is string reason ? $"user space ({reason})" : "the kernel where the session allows it");
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
                else
                    Accept(message, body.AsSpan(0, message.BodyLength));
                // Handoff bodies carry TLS secrets: never leave them in the buffer.
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(body.AsSpan(0, message.BodyLength));
            }
        }
        catch (Exception ex)
        {
            // A broken channel ends this worker's intake; the connections it is serving go on.
            _logger.WorkerConnectionFailed(0, $"channel: {ex.Message}");
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
            _accepted.Writer.TryComplete();
        }
    }

    private void Accept(ReceivedMessage message, ReadOnlySpan<byte> body)
    {
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
            if (_stopAccepting)
            {
                fd.Dispose();
                facts.Wipe();
                _channel.Send(MessageType.Rejected, message.ConnectionId, []);
                return;
            }
            var socket = new Socket(new SafeSocketHandle(fd.DetachFd(), ownsHandle: true));
            _channel.Send(MessageType.Ack, message.ConnectionId, []);
            _accepted.Writer.TryWrite(new WorkerConnection(message.ConnectionId, facts, tlsState, socket, _tls, Settings.HandshakeTimeout, OnClosed));
        }
    }

    /// <summary>
    /// The Pong goes through the thread pool, not from this thread: this thread keeps running when the app's threads
    /// are deadlocked or starved, and would answer for a worker that serves nothing. So the front's deadline catches a
    /// worker whose thread pool runs no work item for that long, as it catches a stopped process.
    /// </summary>
    private void AnswerPing(ulong number) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Listener.Tell(MessageType.Pong, state.Number), (Listener: this, Number: number), preferLocal: false);

    private void OnClosed(ulong connectionId) => Tell(MessageType.Closed, connectionId);

    private void Tell(MessageType type, ulong id)
    {
        try
        {
            _channel.Send(type, id, []);
        }
        catch (Exception ex) when (ex is Baton.Channel.ChannelClosedException or ObjectDisposedException)
        {
            // The front is gone (or this listener disposed); the worker is draining and nobody counts any more.
        }
    }

    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _tls?.Dispose();
        return ValueTask.CompletedTask;
    }
}
