using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// The worker's side of a handed-off TLS session: continues the session described by a <see cref="TlsSessionState"/>
/// over the socket the front passed on. One stream for both record layers: every protocol rule is
/// <see cref="RecordProtocol"/>'s, and a <see cref="RecordBackend"/> moves the records, in user space
/// (<see cref="UserSpaceRecordBackend"/>, EVP over the inner stream) or in the kernel (<see cref="KernelRecordBackend"/>,
/// set up by <see cref="KernelTls.TryEnable"/>).
/// <para>
/// Reads return first the plaintext the front already read, then what the records carry.
/// </para>
/// <para>
/// Write policy: every WriteAsync writes its data at once, in records of at most MaxPlaintext bytes; there is no
/// coalescing across calls, so callers that write many small pieces should pass them together: the
/// ReadOnlySequence overload takes a pipe's segments as they are. FlushAsync only flushes the inner stream.
/// </para>
/// <para>
/// Concurrency: one reader and one writer may run at the same time. Reads may have to write (KeyUpdate answers,
/// alerts); everything that writes, key changes included, is serialized by one lock, so no record can slip between
/// a KeyUpdate and the key that follows it.
/// </para>
/// The stream owns the state (the protocol moves its keys and sequence numbers) and wipes it on dispose.
/// </summary>
internal sealed partial class TlsRecordStream : TlsStream
{
    private readonly RecordBackend _backend;
    private readonly RecordProtocol _protocol;
    private readonly TlsSessionState _state;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    /// <summary>The control message being written (a KeyUpdate or an alert); used under the write lock.</summary>
    private readonly byte[] _control = new byte[RecordProtocol.KeyUpdateLength];
    private int _disposed;

    /// <summary>The user-space record layer.</summary>
    /// <param name="inner">The connection (the handed-off socket's stream).</param>
    /// <param name="state">The session; the stream takes ownership and wipes it on dispose.</param>
    /// <param name="initialPlaintext">Application data the front already decrypted; returned first. Not copied: keep it alive.</param>
    /// <param name="initialCiphertext">Raw bytes the front read but libssl did not process; parsed before the inner stream. Not copied.</param>
    /// <param name="leaveInnerStreamOpen">Whether disposing this stream leaves the inner stream open.</param>
    public TlsRecordStream(
        Stream inner, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext = default,
        ReadOnlyMemory<byte> initialCiphertext = default, bool leaveInnerStreamOpen = false)
        : this(new UserSpaceRecordBackend(inner, state, initialCiphertext, leaveInnerStreamOpen), state, initialPlaintext)
    {
    }

    /// <summary>A stream over any backend; it takes ownership of the backend and the state.</summary>
    internal TlsRecordStream(RecordBackend backend, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext)
    {
        _backend = backend;
        _state = state;
        _protocol = new RecordProtocol(state, backend.KeyUpdateInOneRecord);
        _initialPlaintext = initialPlaintext;
    }

    /// <summary>IANA id of the session's cipher suite.</summary>
    public override ushort CipherSuite => _state.CipherSuite;

    /// <summary>0x0303 or 0x0304.</summary>
    public override ushort ProtocolVersion => _state.ProtocolVersion;

    public override bool ResetByPeer => _backend.ResetByPeer;

    /// <summary>Nothing to flush: every write sends its records.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sends close_notify (once). The connection stays open until dispose.</summary>
    public override Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.CloseNotify, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_detached) await SendCloseNotifyIfIdleAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Best effort: the peer may be gone already.
        }
        Release();
        await _backend.CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                if (!_detached) SendCloseNotifyIfIdleAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Best effort, as above.
            }
            Release();
            _backend.Close();
        }
        base.Dispose(disposing);
    }

    /// <summary>Wipes every key and plaintext buffer this stream holds.</summary>
    private void Release()
    {
        // A detached state belongs to the DetachedSession now.
        if (!_detached) _state.Wipe();
        _backend.Release(readPending: Volatile.Read(ref _readInProgress) != 0);
        // A write in progress returns its own buffers; closing the write side makes any later write fail
        // instead of sealing with wiped keys.
        if (_writeLock.Wait(0))
        {
            _protocol.CloseWrite();
            _writeLock.Release();
        }
    }
}
