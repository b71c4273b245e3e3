using System.Buffers;
using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Every write holds the write lock from the backend's BeginWrite to its EndWrite. A write that fails closes the
/// write side for good: records may have been counted but not sent, and the peer's sequence would be lost.
/// </summary>
internal sealed partial class TlsRecordStream
{
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteAsync(new ReadOnlySequence<byte>(buffer), cancellationToken);

    /// <summary>Writes the data in chunks the backend picks, each preceded by a KeyUpdate when the protocol asks for one.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _protocol.ThrowIfWriteClosed();
            _backend.BeginWrite(buffer.Length);
            while (!buffer.IsEmpty)
            {
                int chunk = _backend.NextChunk(buffer);
                if (_protocol.KeyUpdateBeforeData(_protocol.RecordsFor(chunk)))
                    await WriteKeyUpdateLockedAsync(requestPeerUpdate: false, bestEffort: false, cancellationToken).ConfigureAwait(false);
                await _backend.WriteDataAsync(buffer.Slice(0, chunk), cancellationToken).ConfigureAwait(false);
                buffer = buffer.Slice(chunk);
            }
            await _backend.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _protocol.CloseWrite();
            throw;
        }
        finally
        {
            _backend.EndWrite();
            _writeLock.Release();
        }
    }

    /// <summary>Sends a TLS 1.3 KeyUpdate now and switches to the next write key (an owed one is covered too, RFC 8446 §4.6.3).</summary>
    internal async Task SendKeyUpdateAsync(bool requestPeerUpdate, CancellationToken cancellationToken)
    {
        if (!_protocol.IsTls13) throw new InvalidOperationException("KeyUpdate exists only in TLS 1.3");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _protocol.ThrowIfWriteClosed();
            await WriteKeyUpdateRecordLockedAsync(requestPeerUpdate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends an alert unless the write side is already closed; close_notify and fatal alerts close it. Fatal alerts are best effort.</summary>
    internal async Task SendAlertAsync(TlsAlertLevel level, TlsAlertDescription description, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        await SendAlertLockedAsync(level, description, bestEffort: level == TlsAlertLevel.Fatal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Answers the peer's KeyUpdate(update_requested) at once, unless the write side is closed.</summary>
    private async Task AnswerKeyUpdateAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_protocol.WriteClosed) return;
            _protocol.OweKeyUpdate();
            await WriteKeyUpdateRecordLockedAsync(requestPeerUpdate: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Dispose's close_notify, best effort: skipped when a write is still in progress, so that disposing never waits
    /// behind a write stuck on a peer that does not read.
    /// </summary>
    private Task SendCloseNotifyIfIdleAsync() =>
        _writeLock.Wait(0)
            ? SendAlertLockedAsync(TlsAlertLevel.Warning, TlsAlertDescription.CloseNotify, bestEffort: true, CancellationToken.None)
            : Task.CompletedTask;

    /// <summary>SendAlertAsync once the caller holds the write lock; releases it. An owed KeyUpdate goes first where the protocol says so.</summary>
    private async Task SendAlertLockedAsync(TlsAlertLevel level, TlsAlertDescription description, bool bestEffort, CancellationToken cancellationToken)
    {
        try
        {
            if (_protocol.WriteClosed) return;
            _backend.BeginWrite(0);
            if (_protocol.KeyUpdateBeforeAlert(level)
                && !await WriteKeyUpdateLockedAsync(requestPeerUpdate: false, bestEffort, cancellationToken).ConfigureAwait(false))
            {
                _protocol.CloseWrite(); // the socket is full: a best-effort alert would not go out either
                return;
            }
            _protocol.WriteAlert(level, description, _control);
            ReadOnlyMemory<byte> alert = _control.AsMemory(0, RecordProtocol.AlertLength);
            if (await _backend.WriteControlAsync(TlsContentType.Alert, alert, bestEffort, cancellationToken).ConfigureAwait(false))
                await _backend.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _protocol.CloseWrite();
            throw;
        }
        finally
        {
            _backend.EndWrite();
            _writeLock.Release();
        }
    }

    /// <summary>A write of one KeyUpdate record, under the write lock.</summary>
    private async Task WriteKeyUpdateRecordLockedAsync(bool requestPeerUpdate, CancellationToken cancellationToken)
    {
        _backend.BeginWrite(0);
        try
        {
            await WriteKeyUpdateLockedAsync(requestPeerUpdate, bestEffort: false, cancellationToken).ConfigureAwait(false);
            await _backend.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _protocol.CloseWrite();
            throw;
        }
        finally
        {
            _backend.EndWrite();
        }
    }

    /// <summary>
    /// The KeyUpdate record goes out under the current key, then the backend takes the next one. False when a
    /// best-effort write could not go out (nothing changed).
    /// </summary>
    private async ValueTask<bool> WriteKeyUpdateLockedAsync(bool requestPeerUpdate, bool bestEffort, CancellationToken cancellationToken)
    {
        _protocol.WriteKeyUpdate(requestPeerUpdate, _control);
        ReadOnlyMemory<byte> keyUpdate = _control.AsMemory(0, RecordProtocol.KeyUpdateLength);
        if (!await _backend.WriteControlAsync(TlsContentType.Handshake, keyUpdate, bestEffort, cancellationToken).ConfigureAwait(false))
            return false;
        _protocol.AdvanceWriteKey();
        if (_backend.InstallWriteKey() is string refused)
            throw new IOException($"the next write key was refused: {refused}; the connection cannot continue");
        return true;
    }
}
