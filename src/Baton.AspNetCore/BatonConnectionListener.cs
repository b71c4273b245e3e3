using System.Buffers;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Baton.Tls;
using Baton.Worker;

namespace Baton.AspNetCore;

/// <summary>
/// Kestrel's listener over the front's channel. Connections arrive already acknowledged; each one's
/// TLS is opened (worker handshake or handoff continuation) concurrently, off Kestrel's accept loop,
/// and only ready connections are returned from <see cref="AcceptAsync"/>. Unbinding (Kestrel stopping)
/// refuses what the front sends next but still hands Kestrel every connection acknowledged before:
/// <see cref="AcceptAsync"/> returns null only once those are all opened and returned.
/// </summary>
internal sealed partial class BatonConnectionListener : IConnectionListener
{
    private readonly WorkerListener _worker;
    private readonly MemoryPool<byte> _memoryPool;
    private readonly BatonTransportOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    /// <summary>Passthrough: client-certificate refusals, one line each and bounded per reason as the front logs its failures.</summary>
    private readonly Baton.Diagnostics.ConnectionFailureLog _refusals;
    private readonly Channel<BatonConnection> _ready = System.Threading.Channels.Channel.CreateUnbounded<BatonConnection>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Cancelled on dispose: TLS handshakes still running then are abandoned.</summary>
    private readonly CancellationTokenSource _disposing = new();
    private volatile bool _unbinding;
    private Task? _receiving;
    private int _opening;
    private readonly TaskCompletionSource _openingDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="memoryPool">The pipes' buffers; the listener owns it and disposes it last.</param>
    public BatonConnectionListener(WorkerListener worker, MemoryPool<byte> memoryPool, BatonTransportOptions options, IHostApplicationLifetime lifetime, ILogger logger)
    {
        _worker = worker;
        _memoryPool = memoryPool;
        _options = options;
        _lifetime = lifetime;
        _logger = logger;
        _refusals = new Baton.Diagnostics.ConnectionFailureLog(logger, TimeProvider.System,
            Baton.Diagnostics.ConnectionFailureLog.DefaultInterval, Baton.Diagnostics.ConnectionFailureLog.DefaultLinesPerReason);
    }

    public EndPoint EndPoint { get; } = new BatonEndPoint();

    public void Start()
    {
        _opening = 1;
        _receiving = ReceiveAsync();
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (await _ready.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_ready.Reader.TryRead(out BatonConnection? connection))
                return connection;
        }
        return null;
    }

    /// <summary>Kestrel is stopping: refuse new connections so the front sends them to other workers.</summary>
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbinding = true;
        _worker.StopAccepting();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        _disposing.Cancel();
        if (_receiving is not null)
            await _receiving.ConfigureAwait(false);
        // Acknowledged but never taken (the receive loop was cancelled): close them, which tells the front.
        while (await _worker.AcceptAsync(CancellationToken.None).ConfigureAwait(false) is WorkerConnection unopened)
            await unopened.DisposeAsync().ConfigureAwait(false);
        await _openingDone.Task.ConfigureAwait(false);
        // Opened after Kestrel's last accept: nobody will serve them.
        while (_ready.Reader.TryRead(out BatonConnection? orphan))
            await orphan.DisposeAsync().ConfigureAwait(false);
        await _worker.DisposeAsync().ConfigureAwait(false);
        _disposing.Dispose();
        _memoryPool.Dispose();
        _refusals.Dispose();
    }

    private async Task ReceiveAsync()
    {
        try
        {
            while (await _worker.AcceptAsync(_disposing.Token).ConfigureAwait(false) is WorkerConnection connection)
            {
                Interlocked.Increment(ref _opening);
                _ = OpenAsync(connection);
            }
            if (!_unbinding && _worker.ChannelFailure is null)
            {
                // The front closed the channel: it is gone or stopping. Serve what we have, then exit.
                Log.FrontClosedChannel(_logger);
                _lifetime.StopApplication();
            }
            else if (!_unbinding)
            {
                // The channel broke (the listener logged why): nothing more comes, so exit for the front to restart this worker.
                Fail();
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
        }
        finally
        {
            OpeningFinished();
        }
    }

    private async Task OpenAsync(WorkerConnection connection)
    {
        try
        {
            TlsStream stream = await connection.OpenAsync(_disposing.Token).ConfigureAwait(false);
            var context = new BatonConnection(connection, stream, _memoryPool,
                _options.MaxReadBufferSize, _options.MaxWriteBufferSize, _logger);
            context.Start();
            if (!_ready.Writer.TryWrite(context))
                await context.DisposeAsync().ConfigureAwait(false);
        }
        catch (TypeInitializationException ex)
        {
            // The runtime never retries a type initializer (one that met the descriptor limit, say, loading an assembly):
            // every later connection would fail the same way, so this worker stops for the front to start a fresh one.
            Log.Broken(_logger, connection.Id, ex.ToString());
            await connection.DisposeAsync().ConfigureAwait(false);
            Fail();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (connection.ClientCertificateRefusal is { } refusal)
                _refusals.Failed(connection.Id, connection.RemoteEndPoint, refusal.Reason, refusal.Detail);
            else
                Log.OpenFailed(_logger, connection.Id, ex.Message);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            OpeningFinished();
        }
    }

    /// <summary>Stops the application with a failure exit code (the host's RunAsync returns; Main returns Environment.ExitCode).</summary>
    private void Fail()
    {
        Environment.ExitCode = 1;
        _lifetime.StopApplication();
    }

    /// <summary>The receive loop counts as one opening: the last one to finish ends what AcceptAsync returns.</summary>
    private void OpeningFinished()
    {
        if (Interlocked.Decrement(ref _opening) != 0)
            return;
        _ready.Writer.TryComplete();
        _openingDone.TrySetResult();
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "The front closed the channel; the worker finishes its requests and exits")]
        public static partial void FrontClosedChannel(ILogger logger);

        [LoggerMessage(11, LogLevel.Debug, "Connection {Id}: TLS could not be opened: {Reason}")]
        public static partial void OpenFailed(ILogger logger, ulong id, string reason);

        [LoggerMessage(12, LogLevel.Critical, "Connection {Id}: a type failed to initialise, so this worker cannot serve; it stops with exit code 1: {Exception}")]
        public static partial void Broken(ILogger logger, ulong id, string exception);
    }
}
