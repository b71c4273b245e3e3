using System.Buffers;
using Baton.IO;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// The worker's side of a handed-off TLS session: a user-space TLS 1.2/1.3 AEAD record layer over the socket
/// the front passed on, continuing the session described by a <see cref="TlsSessionState"/>.
/// <para>
/// Reads return first the plaintext the front already read, then records from the initial ciphertext (bytes the
/// front read off the socket but libssl had not processed), then records from the inner stream.
/// </para>
/// <para>
/// Write policy: every WriteAsync seals its data at once into records of at most MaxPlaintext bytes and writes
/// them with one inner write per batch (a 64 KiB buffer); there is no coalescing across calls, so callers that
/// write many small pieces should pass them together: the ReadOnlySequence overload takes a pipe's segments as
/// they are, and records span segment boundaries. FlushAsync only flushes the inner stream.
/// </para>
/// <para>
/// Concurrency: one reader and one writer may run at the same time. Reads may have to write (KeyUpdate answers,
/// alerts); all writes to the inner stream are serialized by one lock.
/// </para>
/// <para>
/// AEAD usage limits: in TLS 1.3 a KeyUpdate is sent before the write sequence reaches 2^24 records (RFC 8446 §5.5
/// allows 2^24.5 for AES-GCM). TLS 1.2 has no rekeying without renegotiation, so once 2^24 AES-GCM records (or
/// 2^64-1 ChaCha20-Poly1305 records) were written, writes fail with an IOException and the connection must be closed.
/// </para>
/// The stream owns the state (it updates keys and sequence numbers in it) and wipes it on dispose.
/// </summary>
internal sealed partial class TlsRecordStream : TlsStream
{
    internal const ulong Tls13KeyUpdateThreshold = 1UL << 24;
    internal const ulong Tls12GcmRecordLimit = 1UL << 24;
    private const int WriteBufferSize = 64 * 1024;

    /// <summary>Room for the largest record either version allows.</summary>
    private const int ReadBufferSize = TlsRecordLimits.HeaderLength + TlsRecordLimits.MaxTls12Ciphertext;

    private readonly Stream _inner;
    private readonly bool _leaveInnerStreamOpen;
    private readonly TlsSessionState _state;
    private readonly TlsCipherSuiteInfo _suite;
    private readonly TlsRecordProtector _reader;
    private readonly TlsRecordProtector _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[] _readBuffer;
    /// <summary>Rented for the duration of one locked write (see RentWriteBuffer), empty in between.</summary>
    private byte[] _writeBuffer = [];
    private int _disposed;

    /// <param name="inner">The connection (a NetworkStream over the handed-off socket).</param>
    /// <param name="state">The session; the stream takes ownership and wipes it on dispose.</param>
    /// <param name="initialPlaintext">Application data the front already decrypted; returned first. Not copied: keep it alive.</param>
    /// <param name="initialCiphertext">Raw bytes the front read but libssl did not process; parsed before the inner stream. Not copied.</param>
    /// <param name="leaveInnerStreamOpen">Whether disposing this stream leaves the inner stream open.</param>
    public TlsRecordStream(
        Stream inner, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext = default,
        ReadOnlyMemory<byte> initialCiphertext = default, bool leaveInnerStreamOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(state);
        _inner = inner;
        _leaveInnerStreamOpen = leaveInnerStreamOpen;
        _state = state;
        _suite = state.Suite;
        _reader = new TlsRecordProtector(_suite, encrypt: false, state.ReadKey, state.ReadIv, state.ReadSequence);
        _writer = new TlsRecordProtector(_suite, encrypt: true, state.WriteKey, state.WriteIv, state.WriteSequence);
        _initialPlaintext = initialPlaintext;
        _initialCiphertext = initialCiphertext;
        _keyUpdateOwed = state.KeyUpdatePending;
        _readBuffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
    }

    /// <summary>IANA id of the session's cipher suite.</summary>
    public override ushort CipherSuite => _suite.Id;

    /// <summary>0x0303 or 0x0304.</summary>
    public override ushort ProtocolVersion => _suite.ProtocolVersion;

    public override bool ResetByPeer => _inner is DuplexStream { ResetByPeer: true };

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <summary>Sends close_notify (once). The inner stream stays open until dispose.</summary>
    public override Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.CloseNotify, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await SendCloseNotifyIfIdleAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Best effort: the peer may be gone already.
        }
        Release();
        if (!_leaveInnerStreamOpen) await _inner.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                SendCloseNotifyIfIdleAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Best effort, as above.
            }
            Release();
            if (!_leaveInnerStreamOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Wipes every key and plaintext buffer this stream holds.</summary>
    private void Release()
    {
        _state.Wipe();
        _reader.Dispose();
        _writer.Dispose();
        // The buffers held plaintext: clear them before they go back to the shared pool. A read still pending
        // on a disposed stream (a misuse) would otherwise see a recycled buffer, so that case drops the buffer.
        byte[] read = Interlocked.Exchange(ref _readBuffer, []);
        if (Volatile.Read(ref _readInProgress) == 0) ArrayPool<byte>.Shared.Return(read, clearArray: true);
        else Array.Clear(read);
        // No write buffer to return: a write in progress returns its own; closing the write side makes
        // any later write fail instead of sealing with wiped keys.
        if (_writeLock.Wait(0))
        {
            _writeClosed = true;
            _writeLock.Release();
        }
    }
}
