using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Baton.Channel;
using Baton.Configuration;
using Baton.IO;
using Baton.Tls;
using Baton.Worker;

namespace Baton.TestWorker;

/// <summary>
/// The worker's side of the channel: settings, Ready, then each connection handled as its behaviour says. On
/// SIGTERM it drains as a real worker does: later connections are Rejected, and it exits once the ones it holds
/// have closed, so a test can have a worker that outlives a shutdown deadline by holding a connection open.
/// </summary>
internal sealed class TestWorker
{
    public const int DiedOnConnection = 70;
    public const int ExitedAtStart = 3;

    private readonly ChannelSocket _channel;
    private readonly Behaviour _firstBehaviour;
    private readonly Lock _gate = new();
    private readonly ReadinessLoop _readiness = new("test-worker-io");
    private readonly List<SafeFdHandle> _ignored = [];
    private Behaviour _behaviour;
    private string? _marker;
    private TlsServerContext? _tls;
    private TimeSpan _handshakeTimeout;
    private int _serving;
    private bool _draining;

    public TestWorker(ChannelSocket channel, Behaviour behaviour, string? marker, Behaviour firstBehaviour)
    {
        _channel = channel;
        _behaviour = behaviour;
        _marker = marker;
        _firstBehaviour = firstBehaviour;
    }

    /// <summary>Returns the exit status once the channel has closed (the front is gone, or this worker drained).</summary>
    public int Run()
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        ReceivedMessage configure = _channel.Receive(body);
        if (configure.IsEndOfStream || configure.Type != MessageType.Configure)
            throw new InvalidOperationException("the front did not send the worker settings first");
        WorkerSettings settings = WorkerSettings.ReadFrom(body.AsSpan(0, configure.BodyLength));
        if (_behaviour == Behaviour.Exit)
            return ExitedAtStart;
        // Passthrough pools send certificates; this worker speaks HTTP/1.1 only, so it offers nothing else.
        if (settings.Certificates.Count > 0)
            _tls = TlsContextFactory.Create(settings.Certificates, ["http/1.1"], settings.TicketsPerHandshake);
        _handshakeTimeout = settings.HandshakeTimeout;
        settings.Wipe();
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Drain);
        if (_behaviour != Behaviour.NeverReady)
            Tell(MessageType.Ready, 0);
        for (ReceivedMessage message; !(message = _channel.Receive(body)).IsEndOfStream;)
        {
            // Out of descriptors the kernel dropped the connection's: refuse it, the front still has it.
            if (message.FdDropped)
                Tell(MessageType.Rejected, message.ConnectionId);
            // Answered from this thread: a stopped process is what the tests of this worker make unresponsive.
            else if (message.Type == MessageType.Ping)
                Tell(MessageType.Pong, message.ConnectionId);
            else
                Handle(message.ConnectionId, message.Fd!, body.AsSpan(0, message.BodyLength));
        }
        return 0;
    }

    /// <summary>A Connection (the only other message a worker receives after its settings) and the client socket it carries.</summary>
    private void Handle(ulong id, SafeFdHandle fd, ReadOnlySpan<byte> body)
    {
        ConnectionFacts facts = ConnectionFacts.ReadFrom(body, out ReadOnlySpan<byte> tlsState);
        Behaviour behaviour = NextBehaviour();
        if (behaviour == Behaviour.Die)
            Environment.Exit(DiedOnConnection);
        if (behaviour == Behaviour.Ignore)
        {
            // Kept open, as a hung app would keep it, and never acknowledged.
            facts.Wipe();
            _ignored.Add(fd);
            return;
        }
        lock (_gate)
        {
            if (_draining || behaviour == Behaviour.Reject)
            {
                fd.Dispose();
                facts.Wipe();
                Tell(MessageType.Rejected, id);
                return;
            }
            _serving++;
        }
        if (behaviour == Behaviour.Tls)
        {
            // As the real worker takes it: the raw descriptor on its readiness loop, no .NET Socket.
            var connection = new HandedOffSocket(fd, _readiness);
            Tell(MessageType.Ack, id);
            // The session state is parsed now, while the receive buffer still holds it (it is reused for the next message).
            _ = ServeTlsAsync(new WorkerConnection(id, facts, tlsState, connection, _tls, _handshakeTimeout, Closed));
            return;
        }
        var socket = new Socket(new SafeSocketHandle(fd.DetachFd(), ownsHandle: true));
        Tell(MessageType.Ack, id);
        if (behaviour is Behaviour.HandBackAndDie or Behaviour.HandBackMalformed or Behaviour.HandBackUnknown)
        {
            facts.Wipe();
            HandBack(behaviour, id, socket);
            return;
        }
        _ = HoldAsync(id, facts, socket);
    }

    /// <summary>The handback variants: the connection goes back to the front at once, well or badly.</summary>
    private void HandBack(Behaviour behaviour, ulong id, Socket socket)
    {
        var facts = new ConnectionFacts
        {
            Mode = behaviour == Behaviour.HandBackMalformed ? HandoffMode.Passthrough : HandoffMode.Handoff,
            Pool = "test",
            Listener = "main",
            TlsStateLength = behaviour == Behaviour.HandBackMalformed ? 0 : 16,
            InitialData = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(),
        };
        byte[] body = new byte[4096];
        int length = facts.WriteTo(body, out _);
        _channel.Send(MessageType.Handback, behaviour == Behaviour.HandBackUnknown ? id + 1000 : id, body.AsSpan(0, length), socket.SafeHandle);
        if (behaviour == Behaviour.HandBackAndDie)
            Environment.Exit(DiedOnConnection);
    }

    /// <summary>On its first connection a worker given a marker tries to create it: the one that does switches behaviour.</summary>
    private Behaviour NextBehaviour()
    {
        if (_marker is string marker)
        {
            _marker = null;
            try
            {
                File.Open(marker, FileMode.CreateNew).Dispose();
                _behaviour = _firstBehaviour;
            }
            catch (IOException) when (File.Exists(marker))
            {
                // Another worker got the first connection.
            }
        }
        return _behaviour;
    }

    private async Task HoldAsync(ulong id, ConnectionFacts facts, Socket socket)
    {
        facts.Wipe();
        try
        {
            using (socket)
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes($"worker pid: {Environment.ProcessId}\n"));
                byte[] buffer = new byte[1024];
                while (await socket.ReceiveAsync(buffer) > 0)
                {
                }
            }
        }
        catch (SocketException)
        {
            // A reset ends the connection as a close does.
        }
        Closed(id);
    }

    /// <summary>The production path: its own handshake in passthrough, the front's session in handoff; disposing says Closed.</summary>
    private async Task ServeTlsAsync(WorkerConnection connection)
    {
        await using var _ = connection;
        try
        {
            TlsStream stream = await connection.OpenAsync(CancellationToken.None);
            await ReadRequestHeadAsync(stream);
            byte[] page = Encoding.ASCII.GetBytes($"worker pid: {Environment.ProcessId}\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n"));
            await stream.WriteAsync(page);
            await stream.FlushAsync();
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Baton.TestWorker {Environment.ProcessId}: connection {connection.Id}: {ex.Message}");
        }
    }

    private static async Task ReadRequestHeadAsync(Stream stream)
    {
        byte[] buffer = new byte[16 * 1024];
        int length = 0;
        while (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
        {
            if (length == buffer.Length)
                throw new InvalidDataException("the request head is larger than 16 KiB");
            int read = await stream.ReadAsync(buffer.AsMemory(length));
            if (read == 0)
                throw new IOException("the client closed before the end of its request head");
            length += read;
        }
    }

    private void Closed(ulong id)
    {
        Tell(MessageType.Closed, id);
        lock (_gate)
        {
            if (--_serving == 0 && _draining)
                _channel.Dispose();
        }
    }

    private void Drain(PosixSignalContext context)
    {
        // Drain instead of the runtime's default exit.
        context.Cancel = true;
        lock (_gate)
        {
            _draining = true;
            // Closing the channel wakes Run's Receive with end-of-stream.
            if (_serving == 0)
                _channel.Dispose();
        }
    }

    /// <summary>A worker → front message; a front that is gone, or a channel closed to drain, is nobody to tell.</summary>
    private void Tell(MessageType type, ulong id)
    {
        try
        {
            _channel.Send(type, id, []);
        }
        catch (Exception ex) when (ex is ChannelClosedException or ObjectDisposedException)
        {
        }
    }
}
