using System.Buffers;
using System.Net.Sockets;
using Baton.IO;
using Baton.Tls;
using Baton.Tls.Records;
using Baton.Tls.Session;

namespace Baton.Relay;

/// <summary>Why a relayed connection ended: the code its log line carries.</summary>
internal static class RelayEnd
{
    /// <summary>Both sides closed their write side (close_notify or FIN), each relayed to the other.</summary>
    public const string Closed = "closed";
    public const string ClientReset = "client_reset";
    public const string ClientError = "client_error";
    public const string ClientIdle = "client_idle";
    public const string BackendReset = "backend_reset";
    public const string BackendError = "backend_error";
    public const string BackendIdle = "backend_idle";
    public const string BackendUnavailable = "backend_unavailable";
    public const string InternalError = "internal_error";
}

/// <summary>
/// Relays one connection: plaintext from the client's continued TLS session to the backend socket and back. Each
/// direction moves one bounded buffer at a time (read, write it all, read again), so a side that does not read stops
/// the relay reading from the other: memory per connection is two buffers, rented only while bytes are in flight (an
/// idle connection waits with zero-byte reads and holds none). A read from the session decrypts into the buffer that is
/// sent to the backend (in place with kernel TLS); a write encrypts from the buffer read from the backend.
/// <para>
/// Half-close travels both ways: the client's close_notify (or FIN) becomes a FIN to the backend, the backend's FIN a
/// close_notify then FIN to the client, and the other direction goes on. A reset from either side resets (backend) or
/// alerts (client, fatal internal_error) the other. Each side has its idle timeout: a side whose reading is still open
/// and that moved no byte for its timeout ends the connection.
/// </para>
/// </summary>
internal sealed class RelayConnection : IDisposable
{
    /// <summary>Four full TLS records: a write of it is one send of four records, or one kernel TLS sendmsg.</summary>
    public const int BufferBytes = 64 * 1024;

    private readonly TlsStream _client;
    private readonly HandedOffSocket _clientSocket;
    private readonly HandedOffSocket _backend;
    private readonly TimeSpan _clientIdle;
    private readonly TimeSpan _backendIdle;
    private readonly CancellationTokenSource _clientTimer = new();
    private readonly CancellationTokenSource _backendTimer = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _linked;
    private volatile bool _clientReadOpen = true, _backendReadOpen = true;
    /// <summary>Writes to each side, one at a time (each direction writes to one side), and whether one failed.</summary>
    private readonly SemaphoreSlim _clientWrites = new(1, 1), _backendWrites = new(1, 1);
    private volatile bool _clientWriteFailed, _backendWriteFailed;

    public RelayConnection(TlsStream client, HandedOffSocket clientSocket, HandedOffSocket backend, TimeSpan clientIdle, TimeSpan backendIdle)
    {
        _client = client;
        _clientSocket = clientSocket;
        _backend = backend;
        _clientIdle = clientIdle;
        _backendIdle = backendIdle;
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_clientTimer.Token, _backendTimer.Token, _abort.Token);
    }

    public long ClientBytes { get; private set; }
    public long BackendBytes { get; private set; }

    /// <summary>Relays until both directions have ended or one fails; returns the <see cref="RelayEnd"/> code and a detail.</summary>
    public async Task<(string Reason, string Detail)> RunAsync()
    {
        Touch(client: true);
        Touch(client: false);
        Task<(string, string)?> up = Task.Run(ClientToBackendAsync);
        Task<(string, string)?> down = Task.Run(BackendToClientAsync);
        Task<(string, string)?> first = await Task.WhenAny(up, down).ConfigureAwait(false);
        if (first.Result is not null)
            _abort.Cancel();
        (string, string)? second = await (first == up ? down : up).ConfigureAwait(false);
        (string Reason, string Detail) end = first.Result ?? second ?? (RelayEnd.Closed, "both sides closed");
        await FinishAsync(end.Reason).ConfigureAwait(false);
        return end;
    }

    /// <summary>Client to backend; null once the client's close is relayed as a FIN, else why the relay must end.</summary>
    private async Task<(string, string)?> ClientToBackendAsync()
    {
        CancellationToken token = _linked.Token;
        while (true)
        {
            byte[]? buffer = null;
            int read;
            try
            {
                // Waits for plaintext without holding a buffer (the record layer keeps at most one record).
                await _client.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                read = await _client.ReadAsync(buffer.AsMemory(0, BufferBytes), token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                Return(buffer, buffer?.Length ?? 0);
                return Interrupted(ex, ClientFailure(ex));
            }
            if (read == 0)
            {
                Return(buffer, 0);
                if (_client.ResetByPeer || await WriteFailedAsync(_clientWrites, () => _clientWriteFailed, token).ConfigureAwait(false))
                    return (RelayEnd.ClientReset, "the client reset the connection");
                _clientReadOpen = false;
                Touch(client: true);
                return ShutdownBackendWrite();
            }
            ClientBytes += read;
            Touch(client: true);
            await _backendWrites.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await _backend.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                _backendWriteFailed = ex is not OperationCanceledException;
                return Interrupted(ex, BackendFailure(ex));
            }
            finally
            {
                Return(buffer, read);
                _backendWrites.Release();
            }
            Touch(client: false);
        }
    }

    /// <summary>Backend to client; null once the backend's FIN is relayed as close_notify, else why the relay must end.</summary>
    private async Task<(string, string)?> BackendToClientAsync()
    {
        CancellationToken token = _linked.Token;
        while (true)
        {
            byte[]? buffer = null;
            int read;
            try
            {
                await _backend.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                read = await _backend.ReadAsync(buffer.AsMemory(0, BufferBytes), token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                Return(buffer, buffer?.Length ?? 0);
                return Interrupted(ex, BackendFailure(ex));
            }
            if (read == 0)
            {
                Return(buffer, 0);
                if (_backend.ResetByPeer || await WriteFailedAsync(_backendWrites, () => _backendWriteFailed, token).ConfigureAwait(false))
                    return (RelayEnd.BackendReset, "the backend reset the connection");
                _backendReadOpen = false;
                Touch(client: false);
                return await CloseClientWriteAsync(token).ConfigureAwait(false);
            }
            BackendBytes += read;
            Touch(client: false);
            await _clientWrites.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await _client.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                _clientWriteFailed = ex is not OperationCanceledException;
                return Interrupted(ex, ClientFailure(ex));
            }
            finally
            {
                Return(buffer, read);
                _clientWrites.Release();
            }
            Touch(client: true);
        }
    }

    private (string, string)? ShutdownBackendWrite()
    {
        try
        {
            _backend.Shutdown(SocketShutdown.Send);
            return null;
        }
        catch (SocketException ex)
        {
            return (BackendFailure(ex), ex.Message);
        }
    }

    /// <summary>close_notify, then FIN: TLS 1.3 (RFC 8446 §6.1) and OpenSSL 3 clients read on after it, as TCP's half-close.</summary>
    private async Task<(string, string)?> CloseClientWriteAsync(CancellationToken token)
    {
        await _clientWrites.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _client.ShutdownAsync(token).ConfigureAwait(false);
            _clientSocket.Shutdown(SocketShutdown.Send);
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _clientWriteFailed = ex is not OperationCanceledException;
            return Interrupted(ex, ClientFailure(ex));
        }
        finally
        {
            _clientWrites.Release();
        }
    }

    /// <summary>
    /// After a read of 0: did a write to the same side fail? A RST reports its error to one operation only: when the
    /// other direction's write took it, this read sees a plain end of stream. Writes to a side hold its gate and set
    /// the flag before letting go, so once the gate is free the flag tells (a reset, not a FIN to pass on).
    /// </summary>
    private static async Task<bool> WriteFailedAsync(SemaphoreSlim writes, Func<bool> failed, CancellationToken token)
    {
        try
        {
            await writes.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The relay is ending anyway (a timeout, the other direction's failure): that reason is the one reported.
            return failed();
        }
        writes.Release();
        return failed();
    }

    /// <summary>
    /// What a failed operation means: a timeout of the side that was idle, the other direction's
    /// failure (null: that one reports), or <paramref name="failure"/> with the exception's message.
    /// </summary>
    private (string, string)? Interrupted(Exception ex, string failure)
    {
        if (ex is not OperationCanceledException)
            return (failure, ex.Message);
        if (_clientTimer.IsCancellationRequested)
            return (RelayEnd.ClientIdle, $"the client moved no byte for {_clientIdle}");
        if (_backendTimer.IsCancellationRequested)
            return (RelayEnd.BackendIdle, $"the backend moved no byte for {_backendIdle}");
        return null;
    }

    private static string BackendFailure(Exception ex) => IsReset(ex) || IsReset(ex.InnerException) ? RelayEnd.BackendReset : RelayEnd.BackendError;

    /// <summary>A write that meets the client's RST (EPIPE, ECONNRESET) is its reset, whichever direction saw it first.</summary>
    private static string ClientFailure(Exception ex) => IsReset(ex) || IsReset(ex.InnerException) ? RelayEnd.ClientReset : RelayEnd.ClientError;

    private static bool IsReset(Exception? ex) =>
        ex is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown };

    /// <summary>
    /// Restarts the side's idle timer, while its reading is open: once a side has closed its write side, only the
    /// other side's silence can end what is left of the connection.
    /// </summary>
    private void Touch(bool client)
    {
        try
        {
            if (client)
                _clientTimer.CancelAfter(_clientReadOpen ? _clientIdle : Timeout.InfiniteTimeSpan);
            else
                _backendTimer.CancelAfter(_backendReadOpen ? _backendIdle : Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The relay ended while this direction was finishing.
        }
    }

    /// <summary>
    /// The other side learns how it ended: a backend failure is a fatal internal_error alert to the client, a client
    /// reset or failure resets the backend (SO_LINGER 0: RST, not FIN); the rest close both normally (close_notify on dispose).
    /// </summary>
    private async Task FinishAsync(string reason)
    {
        if (reason is RelayEnd.BackendReset or RelayEnd.BackendError && _client is TlsRecordStream records)
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                await records.SendAlertAsync(TlsAlertLevel.Fatal, TlsAlertDescription.InternalError, bounded.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                // The client is gone too, or not reading.
            }
        }
        if (reason is RelayEnd.ClientReset or RelayEnd.ClientError)
            _backend.ResetOnClose();
    }

    /// <summary>
    /// Gives a relay buffer back with its first <paramref name="used"/> bytes cleared: they held decrypted client data
    /// or the backend's answer. A read writes only what it returns, so a failed one clears the whole buffer. Clearing
    /// all 64 KiB after every read was 7% of a relay worker's CPU for small keep-alive requests.
    /// </summary>
    private static void Return(byte[]? buffer, int used)
    {
        if (buffer is null)
            return;
        Array.Clear(buffer, 0, used);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Dispose()
    {
        _linked.Dispose();
        _clientTimer.Dispose();
        _backendTimer.Dispose();
        _abort.Dispose();
        _clientWrites.Dispose();
        _backendWrites.Dispose();
    }
}
