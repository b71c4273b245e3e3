using System.Buffers;
using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class TlsRecordStream
{
    private const int KeyUpdateRecordReserve = 64;

    private bool _keyUpdateOwed;
    private bool _writeClosed;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteAsync(new ReadOnlySequence<byte>(buffer), cancellationToken);

    /// <summary>
    /// Seals the data into records of at most MaxPlaintext bytes, straight from the sequence's segments (a
    /// pipe's blocks need no gathering), and sends them in batches of up to 64 KiB: one send for four full records.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfWriteClosed();
            RentWriteBuffer(buffer.Length);
            int used = SealOwedKeyUpdate(0);
            while (!buffer.IsEmpty)
            {
                int chunk = (int)Math.Min(buffer.Length, _state.MaxPlaintext);
                if (used > 0 && used + chunk + RecordReserve > _writeBuffer.Length)
                {
                    await WriteInnerAsync(used, cancellationToken).ConfigureAwait(false);
                    used = 0;
                }
                used += SealApplicationData(buffer.Slice(0, chunk), used);
                buffer = buffer.Slice(chunk);
            }
            if (used > 0) await WriteInnerAsync(used, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnWriteBuffer();
            _writeLock.Release();
        }
    }

    /// <summary>Sends a TLS 1.3 KeyUpdate now and switches to the next write keys.</summary>
    internal async Task SendKeyUpdateAsync(bool requestPeerUpdate, CancellationToken cancellationToken)
    {
        if (!_suite.IsTls13) throw new InvalidOperationException("KeyUpdate exists only in TLS 1.3");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfWriteClosed();
            RentWriteBuffer(0);
            // An owed update_not_requested answer is covered by this KeyUpdate too (RFC 8446 §4.6.3).
            int used = SealKeyUpdate(requestPeerUpdate, 0);
            await WriteInnerAsync(used, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnWriteBuffer();
            _writeLock.Release();
        }
    }

    /// <summary>Answers a KeyUpdate(update_requested) from the peer, unless we already closed the write side.</summary>
    private async Task AnswerKeyUpdateAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writeClosed) return;
            RentWriteBuffer(0);
            _keyUpdateOwed = true;
            await WriteInnerAsync(SealOwedKeyUpdate(0), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnWriteBuffer();
            _writeLock.Release();
        }
    }

    /// <summary>Sends an alert unless the write side is already closed; close_notify and fatal alerts close it.</summary>
    internal async Task SendAlertAsync(TlsAlertLevel level, TlsAlertDescription description, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        await SendAlertLockedAsync(level, description, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Dispose's close_notify: skipped when a write is still in progress, so that disposing never waits behind a
    /// write stuck on a peer that does not read.
    /// </summary>
    private Task SendCloseNotifyIfIdleAsync() =>
        _writeLock.Wait(0)
            ? SendAlertLockedAsync(TlsAlertLevel.Warning, TlsAlertDescription.CloseNotify, CancellationToken.None)
            : Task.CompletedTask;

    /// <summary>SendAlertAsync once the caller holds the write lock; releases it.</summary>
    private async Task SendAlertLockedAsync(TlsAlertLevel level, TlsAlertDescription description, CancellationToken cancellationToken)
    {
        try
        {
            if (_writeClosed) return;
            RentWriteBuffer(0);
            int used = SealAlert(level, description);
            if (level == TlsAlertLevel.Fatal || description == TlsAlertDescription.CloseNotify) _writeClosed = true;
            await WriteInnerAsync(used, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnWriteBuffer();
            _writeLock.Release();
        }
    }

    private int SealAlert(TlsAlertLevel level, TlsAlertDescription description)
    {
        int used = SealOwedKeyUpdate(0);
        ReadOnlySpan<byte> alert = [(byte)level, (byte)description];
        used += _writer.Seal(TlsContentType.Alert, alert, _writeBuffer.AsSpan(used));
        _state.WriteSequence = _writer.Sequence;
        return used;
    }

    private int SealApplicationData(in ReadOnlySequence<byte> data, int offset)
    {
        int used = 0;
        if (_suite.IsTls13 && _writer.Sequence >= Tls13KeyUpdateThreshold)
        {
            used = SealKeyUpdate(requestPeerUpdate: false, offset);
        }
        else if (!_suite.IsTls13 && _writer.Sequence >= Tls12RecordLimit)
        {
            throw new IOException("TLS 1.2 AEAD record limit reached: this connection cannot be rekeyed and must be closed");
        }
        used += _writer.Seal(TlsContentType.ApplicationData, data, _writeBuffer.AsSpan(offset + used));
        _state.WriteSequence = _writer.Sequence;
        return used;
    }

    private ulong Tls12RecordLimit => _suite.Aead == TlsAead.ChaCha20Poly1305 ? ulong.MaxValue - 1 : Tls12GcmRecordLimit;

    private int SealOwedKeyUpdate(int offset) => _keyUpdateOwed ? SealKeyUpdate(requestPeerUpdate: false, offset) : 0;

    private int SealKeyUpdate(bool requestPeerUpdate, int offset)
    {
        ReadOnlySpan<byte> message = [KeyUpdateType, 0, 0, 1, requestPeerUpdate ? (byte)1 : (byte)0];
        int length = _writer.Seal(TlsContentType.Handshake, message, _writeBuffer.AsSpan(offset));
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.WriteSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.WriteSecret, _state.WriteKey, _state.WriteIv);
        _writer.Rekey(_state.WriteKey, _state.WriteIv);
        _state.WriteSequence = 0;
        _keyUpdateOwed = false;
        _state.KeyUpdatePending = false;
        return length;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteInnerAsync(int length, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.WriteAsync(_writeBuffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Sealed records were counted but maybe not sent: the peer's sequence is lost, never write again.
            _writeClosed = true;
            throw;
        }
    }

    /// <summary>Room one record needs beyond its plaintext: header, tag, inner type, and an owed KeyUpdate record.</summary>
    private int RecordReserve => _writer.Overhead + KeyUpdateRecordReserve;

    /// <summary>
    /// Rents the record buffer for one locked write, sized to what it will seal (at most
    /// <see cref="WriteBufferSize"/>): an idle connection holds none. It only ever holds ciphertext,
    /// which is why it goes back to the pool without being cleared.
    /// </summary>
    private void RentWriteBuffer(long plaintextLength)
    {
        long records = plaintextLength / _state.MaxPlaintext + 1;
        _writeBuffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(WriteBufferSize, plaintextLength + (records + 1) * RecordReserve));
    }

    private void ReturnWriteBuffer()
    {
        byte[] buffer = _writeBuffer;
        _writeBuffer = [];
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    private void ThrowIfWriteClosed()
    {
        if (_writeClosed) throw new IOException("the TLS connection is closed for writing");
    }
}
