using System.Buffers;
using System.Security.Authentication;
using Baton.IO;

namespace Baton.Tls;

/// <summary>
/// A server-side TLS connection run by libssl over an inner stream, through two memory BIOs: bytes from the peer
/// are written into the read BIO, records OpenSSL produces are drained from the write BIO to the inner stream.
/// Async only, no thread per connection. One reader and one writer may run at the same time: SSL_* calls are
/// serialized by a lock that is never held across an await, and everything sent to the inner stream goes
/// through one async gate so records leave in the order OpenSSL produced them.
/// </summary>
internal sealed partial class OpenSslStream : TlsStream
{
    // One record's plaintext per SSL_write; up to four records go out in one send.
    private const int MaxPlaintextPerWrite = 16 * 1024;
    private const int MaxPlaintextPerSend = 4 * MaxPlaintextPerWrite;
    private const int ReadBufferSize = 16 * 1024;
    // A record's header and the largest expansion of its plaintext (TLS 1.2 allows 2048).
    private const int MaxRecordOverhead = 5 + 2048;
    private const int MaxSendSize = 4 * (MaxPlaintextPerWrite + MaxRecordOverhead);

    private readonly Stream _inner;
    private readonly bool _leaveInnerStreamOpen;
    private readonly SafeSslHandle _ssl;
    private readonly ClientHelloSelection? _selection;
    private readonly Lock _sslLock = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private bool _authenticated;
    private ushort _protocolVersion;
    private ushort _cipherSuite;
    private int _disposed;

    /// <param name="selector">
    /// Chooses the ALPN list once the ClientHello is read, on a context made with
    /// <see cref="TlsServerOptions.ApplicationProtocolsPerConnection"/>; null on any other.
    /// </param>
    /// <param name="clientCertificates">Asks for a client certificate and verifies it (a passthrough worker; the handoff front sets it from its selector).</param>
    public OpenSslStream(
        Stream innerStream, TlsServerContext context, bool leaveInnerStreamOpen = false, ClientHelloSelector? selector = null,
        ClientCertificatePolicy? clientCertificates = null)
    {
        ArgumentNullException.ThrowIfNull(innerStream);
        ArgumentNullException.ThrowIfNull(context);
        _inner = innerStream;
        _leaveInnerStreamOpen = leaveInnerStreamOpen;
        _ssl = SafeSslHandle.Create(context.Handle);
        try
        {
            _selection = selector is null ? null : ClientHelloSelection.Attach(_ssl, selector);
            // A fresh SSL that nothing else references yet.
            if (clientCertificates is not null && !clientCertificates.Apply(_ssl.DangerousGetHandle()))
                throw Interop.Crypto.CreateOpenSslException("SSL_set_verify (client certificates)");
        }
        catch
        {
            _ssl.Dispose();
            throw;
        }
    }

    /// <summary>The wire version (SSL_version), once the handshake is done.</summary>
    public override ushort ProtocolVersion => _protocolVersion;

    /// <summary>The IANA suite number (SSL_CIPHER_get_protocol_id), once the handshake is done.</summary>
    public override ushort CipherSuite => _cipherSuite;

    public override bool ResetByPeer => _inner is DuplexStream { ResetByPeer: true };

    public bool IsResumed { get; private set; }

    public bool IsAuthenticated => _authenticated;

    /// <summary>
    /// Runs the server handshake. A failure throws <see cref="AuthenticationException"/> naming OpenSSL's reason,
    /// after the alert OpenSSL produced was sent to the peer. Cancel the token to enforce a handshake timeout.
    /// </summary>
    public async Task AuthenticateAsServerAsync(CancellationToken cancellationToken = default)
    {
        if (_authenticated) throw new InvalidOperationException("The handshake has already completed.");
        while (true)
        {
            HandshakeStep step = StepHandshake(out Interop.OpenSslException? failure);
            if (failure is not null)
            {
                ClientCertificateRefusal = ClassifyClientCertificateFailure(failure);
                await TrySendAlertAsync(cancellationToken).ConfigureAwait(false);
                throw new AuthenticationException($"TLS handshake failed: {failure.Message}", failure);
            }
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            if (step == HandshakeStep.Done) break;
            if (!await ReceiveAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new AuthenticationException("TLS handshake failed: the peer closed the connection.");
            }
        }
        CaptureConnectionFacts();
        _authenticated = true;
    }

    /// <summary>Reads plaintext. Returns 0 once the peer sent close_notify or closed the connection.</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        if (buffer.IsEmpty) return await WaitForInputAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            ReadStep step = ReadPlaintext(buffer.Span, out int read, out bool mustSend, out Interop.OpenSslException? failure);
            // Reading can make OpenSSL write: a KeyUpdate answer, or an alert on failure.
            if (mustSend) await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            switch (step)
            {
                case ReadStep.Data: return read;
                case ReadStep.Closed: return 0;
                case ReadStep.Failed: throw new IOException($"TLS read failed: {failure!.Message}", failure);
            }
            if (!await ReceiveAsync(cancellationToken).ConfigureAwait(false)) return 0;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!buffer.IsEmpty)
            {
                int batch = Math.Min(buffer.Length, MaxPlaintextPerSend);
                await SendRecordsAsync(buffer[..batch], cancellationToken).ConfigureAwait(false);
                buffer = buffer[batch..];
            }
            // What did not fit, if the reader queued something meanwhile (a KeyUpdate answer).
            await DrainWriteBioAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>
    /// Encrypts up to four records and sends them with one write. Each record leaves the write BIO as soon as it
    /// is made: a memory BIO keeps its largest buffer for the connection's life, so it never holds more than one.
    /// Caller holds the send gate.
    /// </summary>
    private async ValueTask SendRecordsAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
    {
        // Sized to this batch: a small response rents a small array, not four records' worth.
        int recordCount = (plaintext.Length + MaxPlaintextPerWrite - 1) / MaxPlaintextPerWrite;
        byte[] records = ArrayPool<byte>.Shared.Rent(plaintext.Length + recordCount * MaxRecordOverhead);
        try
        {
            int used = 0;
            for (int done = 0; done < plaintext.Length; done += MaxPlaintextPerWrite)
            {
                Encrypt(plaintext.Span[done..Math.Min(plaintext.Length, done + MaxPlaintextPerWrite)]);
                used += TakeFromWriteBio(records.AsSpan(used));
            }
            await _inner.WriteAsync(records.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(records);
        }
    }

    /// <summary>Sends close_notify. Does not wait for the peer's; the connection can still be read until it arrives.</summary>
    public override async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotAuthenticated();
        SendCloseNotify();
        await SendPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    /// <summary>
    /// Frees the SSL and its BIOs without sending anything (call ShutdownAsync first for close_notify). The session of
    /// a completed handshake stays in the context's session cache: SSL_free drops a session whose connection was not
    /// shut down, which would end TLS 1.2 session-ID resumption for the handoff front (it never shuts down: the worker
    /// owns the connection) and for a client that closes without close_notify. RFC 5246 7.2.1 allows resuming those,
    /// and s_server keeps them the same way. A connection that failed with a fatal alert has already lost its session.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_sslLock)
            {
                if (_authenticated) Interop.Ssl.SslSetShutdown(_ssl, Interop.Ssl.SSL_SENT_SHUTDOWN | Interop.Ssl.SSL_RECEIVED_SHUTDOWN);
                _selection?.Detach(_ssl);
                _ssl.Dispose();
            }
            if (!_leaveInnerStreamOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Sends whatever OpenSSL queued in the write BIO, in order with concurrent writers.</summary>
    private async ValueTask SendPendingAsync(CancellationToken cancellationToken)
    {
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await DrainWriteBioAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>
    /// Caller holds the send gate. The buffer is rented for the drain only (it holds ciphertext, so it goes back
    /// uncleared): a connection between writes holds none.
    /// </summary>
    private async ValueTask DrainWriteBioAsync(CancellationToken cancellationToken)
    {
        int pending = PendingOutput();
        if (pending == 0) return;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(pending, MaxSendSize));
        try
        {
            int count;
            while ((count = TakeFromWriteBio(buffer)) > 0)
                await _inner.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Best effort: the handshake already failed, the alert is a courtesy to the peer.</summary>
    private async ValueTask TrySendAlertAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Reads once from the inner stream into the read BIO. False at end of stream. After the handshake, where a
    /// connection can sit idle for long, it first waits with a zero-byte read (Kestrel's way) so that waiting
    /// holds no buffer; the buffer is rented for the read only and holds ciphertext, so it goes back uncleared.
    /// </summary>
    private async ValueTask<bool> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (_authenticated) await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            int count = await _inner.ReadAsync(buffer.AsMemory(0, ReadBufferSize), cancellationToken).ConfigureAwait(false);
            if (count == 0) return false;
            PutIntoReadBio(buffer.AsSpan(0, count));
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Zero-byte read: completes when input is available, without consuming plaintext.</summary>
    private async ValueTask<int> WaitForInputAsync(CancellationToken cancellationToken)
    {
        if (!HasBufferedInput()) await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private void ThrowIfNotAuthenticated()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_authenticated) throw new InvalidOperationException("Call AuthenticateAsServerAsync first.");
    }

    private enum HandshakeStep { NeedInput, Done }

    private enum ReadStep { Data, NeedInput, Closed, Failed }
}
