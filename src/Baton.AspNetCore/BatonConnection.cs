using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Baton.Tls;
using Baton.Worker;

namespace Baton.AspNetCore;

/// <summary>
/// One handed-off client connection as Kestrel sees it, modelled on Kestrel's SocketConnection: a
/// receive loop copies plaintext from the TLS stream into the input pipe (honouring back-pressure),
/// a send loop copies the output pipe into the TLS stream, and shutdown is idempotent. The TLS
/// stream is whatever <see cref="WorkerConnection.OpenAsync"/> returned: the worker's own OpenSSL
/// session (passthrough) or the continued record layer (handoff), which first yields the bytes the
/// front already read.
/// </summary>
internal sealed partial class BatonConnection : ConnectionContext
{
    // Kestrel's block size; each read asks for at least this much of the pipe.
    private const int MinAllocBufferSize = 4096;

    private readonly WorkerConnection _connection;
    private readonly TlsStream _stream;
    private readonly ILogger _logger;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly IDuplexPipe _originalTransport;
    private readonly CancellationTokenSource _connectionClosedTokenSource = new();
    private readonly TaskCompletionSource _waitForConnectionClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _shutdownLock = new();
    private volatile bool _shutDown;
    private volatile Exception? _shutdownReason;
    private int _connectionClosed;
    private Task? _receiving;
    private Task? _sending;

    public BatonConnection(WorkerConnection connection, TlsStream stream, MemoryPool<byte> pool, long maxReadBufferSize, long maxWriteBufferSize, ILogger logger)
    {
        _connection = connection;
        _stream = stream;
        _logger = logger;
        MemoryPool = pool;
        // The transport writes the input pipe and reads the output pipe; Kestrel does the opposite.
        _input = new Pipe(new PipeOptions(pool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool,
            maxReadBufferSize, maxReadBufferSize / 2, MinAllocBufferSize, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool,
            maxWriteBufferSize, maxWriteBufferSize / 2, MinAllocBufferSize, useSynchronizationContext: false));
        _originalTransport = new DuplexPipe(_input.Reader, _output.Writer);
        Transport = _originalTransport;
        ConnectionId = $"baton-{connection.Id:x}";
        RemoteEndPoint = connection.RemoteEndPoint;
        LocalEndPoint = connection.LocalEndPoint;
        ConnectionClosed = _connectionClosedTokenSource.Token;
        HostName = stream.ServerName ?? string.Empty;
        ApplicationProtocol = stream.ApplicationProtocol is string alpn ? System.Text.Encoding.ASCII.GetBytes(alpn) : ReadOnlyMemory<byte>.Empty;
        Features = CreateFeatures();
        _gate = connection.CreateGate();
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features { get; }
    public override IDuplexPipe Transport { get; set; }
    public override EndPoint? RemoteEndPoint { get; set; }
    public override EndPoint? LocalEndPoint { get; set; }

    public void Start()
    {
        _receiving = DoReceive();
        _sending = DoSend();
        _drainRegistration = _connection.Draining.UnsafeRegister(static state => ((BatonConnection)state!).OnDraining(), this);
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        // Shut the socket down first so the send loop, once cancelled, reports this reason.
        Shutdown(abortReason);
        _output.Reader.CancelPendingRead();
    }

    public override async ValueTask DisposeAsync()
    {
        _originalTransport.Input.Complete();
        _originalTransport.Output.Complete();
        try
        {
            if (_sending is not null) await _sending.ConfigureAwait(false);
            if (_receiving is not null) await _receiving.ConfigureAwait(false);
            await LingerAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Unexpected exception in {Connection}", ConnectionId);
        }
        finally
        {
            await _drainRegistration.DisposeAsync().ConfigureAwait(false);
            // Frees the TLS session and the socket, and tells the front this connection ended.
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connectionClosedTokenSource.Dispose();
        }
    }

    private async Task DoReceive()
    {
        Exception? error = null;
        try
        {
            PipeWriter input = _input.Writer;
            while (true)
            {
                // Like Kestrel's socket transport: wait for data before taking a pipe segment, so an
                // idle keep-alive connection holds no buffer (every TLS stream here supports it).
                await _stream.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                int received = _gate is null ? await ReadIntoAsync(input).ConfigureAwait(false) : await ReadThroughGateAsync(input).ConfigureAwait(false);
                if (received < 0)
                {
                    // A request this pool must not serve: what came before goes on, the connection goes back to the front
                    // (unless it was upgraded: then the gate passes everything on from here).
                    if (await FlushAndHandBackAsync(input).ConfigureAwait(false))
                        continue;
                    break;
                }
                if (received == 0)
                {
                    _readSideDone = true;
                    // The handed-off socket reports a reset as the end of the stream rather than by throwing.
                    if (_stream.ResetByPeer)
                        error = Reset("Connection reset by peer", inner: null);
                    break;
                }
                FlushResult flush = await input.FlushAsync().ConfigureAwait(false);
                // Completed: Kestrel stopped reading. Cancelled: the send loop ended and unblocked us.
                if (flush.IsCompleted || flush.IsCanceled)
                    break;
            }
        }
        catch (Exception ex) when (IsReset(ex))
        {
            _readSideDone = true;
            error = Reset(ex.Message, ex);
        }
        catch (Exception ex) when (_shutDown && ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // We shut the socket down (abort or send loop done); the reason is recorded there.
            error = _shutdownReason;
        }
        catch (Exception ex)
        {
            Log.ReceiveFailed(_logger, ConnectionId, ex.Message);
            error = ex;
        }
        finally
        {
            _receiveEnded.TrySetResult();
            _input.Writer.Complete(_shutdownReason ?? error);
            FireConnectionClosed();
            await _waitForConnectionClosed.Task.ConfigureAwait(false);
        }
    }

    private async ValueTask<int> ReadIntoAsync(PipeWriter input)
    {
        Memory<byte> buffer = input.GetMemory(MinAllocBufferSize);
        int received = await _stream.ReadAsync(buffer).ConfigureAwait(false);
        input.Advance(received);
        return received;
    }

    private ConnectionResetException Reset(string message, Exception? inner)
    {
        if (!_shutDown)
            Log.ConnectionReset(_logger, ConnectionId);
        return inner is null ? new ConnectionResetException(message) : new ConnectionResetException(message, inner);
    }

    private async Task DoSend()
    {
        Exception? shutdownReason = null;
        Exception? unexpectedError = null;
        try
        {
            PipeReader output = _output.Reader;
            while (true)
            {
                ReadResult result = await output.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                    break;
                ReadOnlySequence<byte> buffer = result.Buffer;
                // Each TLS layer seals a pipe's segments its own way (straight from them, or gathered into whole records).
                await _stream.WriteAsync(buffer).ConfigureAwait(false);
                ResponseWritten(buffer);
                output.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // Kestrel finished the response stream: end the TLS session cleanly before the TCP FIN.
                    await AwaitClientCloseAfterGoAwayAsync().ConfigureAwait(false);
                    await _stream.ShutdownAsync().ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (Exception ex) when (IsReset(ex))
        {
            shutdownReason = new ConnectionResetException(ex.Message, ex);
        }
        catch (Exception ex) when (_shutDown && ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            shutdownReason = ex;
        }
        catch (Exception ex)
        {
            Log.SendFailed(_logger, ConnectionId, ex.Message);
            unexpectedError = ex;
        }
        finally
        {
            Shutdown(shutdownReason ?? unexpectedError);
            _output.Reader.Complete(unexpectedError);
            SendingEnded();
            // A receive loop paused by back-pressure must wake up to see the connection is over.
            _input.Writer.CancelPendingFlush();
        }
    }

    /// <summary>Idempotent: the first caller's reason wins, the socket is shut down once (it is closed on dispose).</summary>
    private void Shutdown(Exception? reason)
    {
        lock (_shutdownLock)
        {
            if (_shutDown)
                return;
            _shutDown = true;
            _shutdownReason = reason ?? new ConnectionAbortedException("The Baton transport's send loop completed gracefully.");
            try
            {
                // Never on a connection being handed back, whose socket the front (or the worker's own 503) carries on.
                // A graceful end lingers; an abort or a failure wakes a pending receive with end-of-stream and sends FIN.
                if (_handingBack)
                    return;
                if (reason is null)
                    BeginLinger();
                else
                    _connection.Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already reset or closed by the peer.
            }
        }
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _connectionClosed, 1) != 0)
            return;
        // Callbacks registered on ConnectionClosed must not run on the receive loop's stack.
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            state.CancelConnectionClosedToken();
            state._waitForConnectionClosed.TrySetResult();
        }, this, preferLocal: false);
    }

    private void CancelConnectionClosedToken()
    {
        try
        {
            _connectionClosedTokenSource.Cancel();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Unexpected exception in {Connection} while signalling ConnectionClosed", ConnectionId);
        }
    }

    private static bool IsReset(Exception ex) =>
        (ex as SocketException ?? ex.InnerException as SocketException)?.SocketErrorCode
            is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted;

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId} reset by the client")]
        public static partial void ConnectionReset(ILogger logger, string connectionId);

        [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId}: receive failed: {Reason}")]
        public static partial void ReceiveFailed(ILogger logger, string connectionId, string reason);

        [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId}: send failed: {Reason}")]
        public static partial void SendFailed(ILogger logger, string connectionId, string reason);
    }
}
