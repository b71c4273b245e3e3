using Microsoft.Win32.SafeHandles;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Diagnostics;

namespace Baton.Supervisor;

/// <summary>
/// The front's view of one running worker: its pid, its channel, the connections sent but not yet
/// acknowledged (and since when), its outstanding ping, and how many connections it is serving. One dedicated
/// thread reads the worker's messages; the pool's watcher asks <see cref="CheckResponsive"/> whether it still answers.
/// </summary>
internal sealed partial class WorkerProcess
{
    private readonly ChannelSocket _channel;
    /// <summary>Connections sent but not acknowledged, each with the completion of that one attempt and when it was sent.</summary>
    private readonly ConcurrentDictionary<ulong, SentConnection> _unacknowledged = new();
    /// <summary>Connections the worker acknowledged and has not closed: the only ones it may hand back.</summary>
    private readonly ConcurrentDictionary<ulong, byte> _held = new();
    private readonly Lock _pingGate = new();
    private readonly Lock _reapGate = new();
    private bool _reaped;
    private readonly ILogger _logger;
    private readonly Action<WorkerProcess> _changed;
    private readonly TaskCompletionSource<WorkerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _outstanding;
    private volatile bool _ready;
    private int _unresponsive;
    /// <summary>The last ping's number; it is outstanding from <see cref="_pingSince"/> (a timestamp, 0 when none is).</summary>
    private ulong _pingNumber;
    private long _pingSince;
    private bool _pingDelivered;

    private WorkerProcess(string pool, int pid, ChannelSocket channel, ILogger logger, Action<WorkerProcess> changed)
    {
        Pool = pool;
        Pid = pid;
        _channel = channel;
        _logger = logger;
        _changed = changed;
        StartedAt = DateTime.UtcNow;
    }

    public string Pool { get; }
    public int Pid { get; }
    public DateTime StartedAt { get; }
    public bool IsReady => _ready;
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Where the connections this worker hands back go (the front's); null refuses every Handback as a protocol error.</summary>
    public Action<HandbackArrival>? HandbackReceived { get; set; }

    /// <summary>Completes once the process has exited and been reaped.</summary>
    public Task<WorkerExit> Exited => _exited.Task;

    /// <summary>Spawns the worker, sends it its settings and starts reading its channel.</summary>
    public static WorkerProcess Start(
        string pool, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment,
        ReadOnlySpan<byte> settings, ILogger logger, Action<WorkerProcess> changed)
    {
        (ChannelSocket channel, SafeFdHandle workerEnd) = ChannelSocket.CreatePair();
        int pid;
        try
        {
            using (workerEnd)
                pid = WorkerSpawner.Spawn(argv, environment, workerEnd);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        try
        {
            if (!channel.TrySend(MessageType.Configure, 0, settings, null))
                throw new IOException("the new worker's channel is full before its first message");
        }
        catch
        {
            // A worker that exits at once (EPIPE here) must not stay behind as a zombie.
            channel.Dispose();
            Interop.Libc.Kill(pid, Interop.Libc.SIGKILL);
            Interop.Libc.WaitPid(pid, out _, 0);
            throw;
        }
        var worker = new WorkerProcess(pool, pid, channel, logger, changed);
        new Thread(worker.ReceiveLoop) { IsBackground = true, Name = $"baton-worker-{pid}" }.Start();
        return worker;
    }

    /// <summary>
    /// Sends a connection. Null when it was not sent (queue full, worker gone); otherwise a task that
    /// is true once the worker acknowledged it and false when the worker refused it or died first.
    /// Each attempt has its own completion, so a late answer can never be taken for another attempt's.
    /// </summary>
    public Task<bool>? TrySend(PendingHandoff handoff)
    {
        // An Ack completes this on the receive loop, where the dispatcher's continuation runs inline (it frees the front's
        // copy, counts and logs, and never blocks): a hop to the pool per connection cost the front a thread wake-up per
        // handoff. "Not taken" goes through the pool (AnswerNotTaken): what follows it may re-dispatch or answer the client.
        var acknowledgement = new TaskCompletionSource<bool>();
        if (!_ready || !_unacknowledged.TryAdd(handoff.Id, new SentConnection(acknowledgement, Stopwatch.GetTimestamp())))
            return null;
        Interlocked.Increment(ref _outstanding);
        bool sent;
        try
        {
            sent = _channel.TrySend(MessageType.Connection, handoff.Id, handoff.Body, handoff.Socket.Handle);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.ComponentModel.Win32Exception)
        {
            sent = false;
        }
        if (sent)
        {
            handoff.SentTo = Pid;
            return acknowledgement.Task;
        }
        if (_unacknowledged.TryRemove(handoff.Id, out _))
            Interlocked.Decrement(ref _outstanding);
        return null;
    }

    /// <summary>
    /// Signals the worker unless it has been reaped: its pid may then be another process's. Reaping takes the same
    /// lock, so a signal is never sent between the reap and the flag (the watcher may kill as the worker exits).
    /// </summary>
    public void Signal(int signal)
    {
        lock (_reapGate)
        {
            if (!_reaped)
                Interop.Libc.Kill(Pid, signal);
        }
    }

    /// <summary>Passthrough: the state of the front's ticket-key ring this worker holds (<see cref="TicketKeyRing"/>'s version).</summary>
    public long TicketKeysVersion { get; set; } = -1;

    /// <summary>Sends the front's current ticket-key ring (a TicketKeys body); false when it was not sent (queue full, worker gone).</summary>
    public bool TrySendTicketKeys(ReadOnlySpan<byte> body)
    {
        if (Volatile.Read(ref _unresponsive) != 0)
            return false;
        try
        {
            return _channel.TrySend(MessageType.TicketKeys, 0, body, null);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The channel is closing: the receive loop sees the end and the pool the exit.
            return false;
        }
    }

    /// <summary>Tells the worker its generation is being replaced (an empty Drain); false when it was not sent (queue full, worker gone).</summary>
    public bool TrySendDrain()
    {
        try
        {
            return _channel.TrySend(MessageType.Drain, 0, ReadOnlySpan<byte>.Empty, null);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Sends a passthrough worker the certificates of a reload (a Certificates body); false when it cannot take it now.</summary>
    public bool TrySendCertificates(ReadOnlySpan<byte> body) => TrySendUpdate(MessageType.Certificates, body);

    /// <summary>A reload's routes (a <see cref="RoutesUpdate"/> body) to a handoff worker; false when not sent (queue full, worker gone).</summary>
    public bool TrySendRoutes(ReadOnlySpan<byte> body) => TrySendUpdate(MessageType.Routes, body);

    private bool TrySendUpdate(MessageType type, ReadOnlySpan<byte> body)
    {
        try
        {
            return _channel.TrySend(type, 0, body, null);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            return false;
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
                if (message.Type == MessageType.Handback)
                {
                    ReceiveHandback(message, body.AsSpan(0, message.BodyLength));
                    continue;
                }
                message.Fd?.Dispose();
                Handle(message);
            }
        }
        catch (Exception ex)
        {
            // Whatever broke the channel (a malformed message, a recvmsg error, a bug in Handle),
            // it costs this worker only: it is killed and restarted, the front goes on.
            _logger.WorkerChannelFailed(Pool, Pid, ex.Message);
            Signal(Interop.Libc.SIGKILL);
        }
        _ready = false;
        _channel.Dispose();
        _exited.TrySetResult(Reap());
    }

    private void Handle(ReceivedMessage message)
    {
        if (message.Type == MessageType.Pong)
        {
            // Changes nothing a dispatcher waits for.
            AnswerPing(message.ConnectionId);
            return;
        }
        switch (message.Type)
        {
            case MessageType.Ready:
                _ready = true;
                _logger.WorkerReady(Pool, Pid);
                break;
            case MessageType.Ack when _unacknowledged.TryRemove(message.ConnectionId, out SentConnection sent):
                _held[message.ConnectionId] = 0;
                sent.Completion.TrySetResult(true);
                break;
            case MessageType.Rejected when _unacknowledged.TryRemove(message.ConnectionId, out SentConnection sent):
                // Only a draining worker refuses connections: send it no more.
                _ready = false;
                Interlocked.Decrement(ref _outstanding);
                AnswerNotTaken(sent.Completion);
                break;
            case MessageType.Closed:
                _held.TryRemove(message.ConnectionId, out _);
                Interlocked.Decrement(ref _outstanding);
                break;
            default:
                throw new ChannelProtocolException(ChannelError.BadConnectionId, $"{message.Type} for unknown connection {message.ConnectionId}");
        }
        _changed(this);
    }

    /// <summary>
    /// A Handback must name a connection this worker holds and carry a valid handoff body; anything else breaks the
    /// channel like every malformed message (the descriptor is closed, the worker restarted). The body is copied out of
    /// the receive buffer, which the next message reuses, and the buffer wiped (it holds the session's keys).
    /// </summary>
    private void ReceiveHandback(ReceivedMessage message, Span<byte> body)
    {
        if (message.Fd is not SafeFdHandle fd)
        {
            // The front is at its descriptor limit and the kernel dropped the fd: not taken, so no Ack; the worker
            // closes its copy without writing when the Ack does not come (it cannot know the front did not pass it on).
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
            _logger.HandbackFailed(message.ConnectionId, Pool, "the front is out of descriptors; left with the worker");
            return;
        }
        try
        {
            Action<HandbackArrival> handler = HandbackReceived
                ?? throw new ChannelProtocolException(ChannelError.WrongDirection, "this front takes no handbacks");
            if (!_held.ContainsKey(message.ConnectionId))
                throw new ChannelProtocolException(ChannelError.BadConnectionId, $"Handback for connection {message.ConnectionId}, which this worker does not hold");
            ConnectionFacts.ReadHandback(body, out _).Wipe();
            handler(new HandbackArrival(this, message.ConnectionId, fd, body));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
        }
    }

    /// <summary>The front holds a connection this worker handed back: the worker may close its copy.</summary>
    public bool TrySendHandbackAck(ulong id)
    {
        try
        {
            return _channel.TrySend(MessageType.HandbackAck, id, [], null);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The worker is gone: its copy of the descriptor went with it.
            return false;
        }
    }

    /// <summary>
    /// After the worker died: every connection it never acknowledged is answered "not taken", so the
    /// dispatcher waiting on it sends the same descriptor and state to another worker.
    /// </summary>
    public void ReleaseUnacknowledged()
    {
        foreach (ulong id in _unacknowledged.Keys)
        {
            if (_unacknowledged.TryRemove(id, out SentConnection sent))
                AnswerNotTaken(sent.Completion);
        }
    }

    /// <summary>Answers an attempt "not taken" from the pool, so that its re-dispatch or its answer never runs here.</summary>
    private static void AnswerNotTaken(TaskCompletionSource<bool> attempt) =>
        ThreadPool.UnsafeQueueUserWorkItem(static attempt => attempt.TrySetResult(false), attempt, preferLocal: false);

    /// <summary>
    /// The channel closes when the worker exits (the kernel closes its descriptors), so reaping
    /// normally returns at once; a worker that closed its channel but lingers is killed.
    /// </summary>
    private WorkerExit Reap()
    {
        DateTime killAt = DateTime.UtcNow.AddSeconds(2);
        int status;
        while (!TryReap(Interop.Libc.WNOHANG, out status))
        {
            if (DateTime.UtcNow > killAt)
            {
                Signal(Interop.Libc.SIGKILL);
                TryReap(0, out status);
                break;
            }
            Thread.Sleep(10);
        }
        return WorkerExit.FromWaitStatus(status);
    }

    private bool TryReap(int options, out int status)
    {
        lock (_reapGate)
        {
            _reaped = Interop.Libc.WaitPid(Pid, out status, options) != 0;
            return _reaped;
        }
    }
}

/// <summary>One attempt at handing a connection to a worker: completed true by its Ack, false by a refusal or the worker's end.</summary>
internal readonly record struct SentConnection(TaskCompletionSource<bool> Completion, long SentAt);

/// <summary>How a worker ended: an exit code or the signal that killed it.</summary>
internal readonly record struct WorkerExit(int? ExitCode, int? Signal)
{
    public static WorkerExit FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new WorkerExit((status >> 8) & 0xff, null) : new WorkerExit(null, status & 0x7f);

    public override string ToString() => ExitCode is int code ? $"exit code {code}" : $"signal {Signal}";
}
