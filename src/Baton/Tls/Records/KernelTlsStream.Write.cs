using System.Net.Sockets;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class KernelTlsStream
{
    // Large writes go out in slices so that the usage limit is checked between them.
    private const int SendSlice = 256 * 1024;

    private bool _keyUpdateOwed;
    private bool _writeClosed;
    private long _epochBytes;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfWriteClosed();
            if (_keyUpdateOwed) await SendKeyUpdateLockedAsync(requestPeerUpdate: false, cancellationToken).ConfigureAwait(false);
            while (!buffer.IsEmpty)
            {
                await EnforceUsageLimitLockedAsync(cancellationToken).ConfigureAwait(false);
                int slice = Math.Min(buffer.Length, SendSlice);
                await SendDataLockedAsync(buffer[..slice], cancellationToken).ConfigureAwait(false);
                buffer = buffer[slice..];
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a TLS 1.3 KeyUpdate now and installs the next write key.</summary>
    internal async Task SendKeyUpdateAsync(bool requestPeerUpdate, CancellationToken cancellationToken)
    {
        if (!_suite.IsTls13) throw new InvalidOperationException("KeyUpdate exists only in TLS 1.3");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfWriteClosed();
            await SendKeyUpdateLockedAsync(requestPeerUpdate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends an alert unless the write side is already closed; close_notify and fatal alerts close it.</summary>
    internal async Task SendAlertAsync(TlsAlertLevel level, TlsAlertDescription description, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writeClosed) return;
            bool fatal = level == TlsAlertLevel.Fatal;
            // Same order as the user-space layer: an owed KeyUpdate goes first, except before a fatal alert.
            if (_keyUpdateOwed && !fatal) await SendKeyUpdateLockedAsync(requestPeerUpdate: false, cancellationToken).ConfigureAwait(false);
            if (fatal || description == TlsAlertDescription.CloseNotify) _writeClosed = true;
            await SendControlLockedAsync(TlsContentType.Alert, new[] { (byte)level, (byte)description }, bestEffort: fatal, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Answers a KeyUpdate(update_requested) from the peer, unless the write side is closed.</summary>
    private async Task AnswerKeyUpdateAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_writeClosed) return;
            _keyUpdateOwed = true;
            await SendKeyUpdateLockedAsync(requestPeerUpdate: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// The KeyUpdate record goes out under the current key, then TLS_TX takes the next one. Both happen under the
    /// write lock, so no data record can be sealed in between.
    /// </summary>
    private async Task SendKeyUpdateLockedAsync(bool requestPeerUpdate, CancellationToken cancellationToken)
    {
        byte[] message = [KeyUpdateType, 0, 0, 1, requestPeerUpdate ? (byte)1 : (byte)0];
        await SendControlLockedAsync(TlsContentType.Handshake, message, bestEffort: false, cancellationToken).ConfigureAwait(false);
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.WriteSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.WriteSecret, _state.WriteKey, _state.WriteIv);
        _state.WriteSequence = 0;
        int errno = KernelTls.InstallKeys(_socket.SafeHandle, Interop.Libc.TLS_TX, _suite, _state.WriteKey, _state.WriteIv, 0);
        if (errno != 0)
        {
            // The peer now expects the next key; nothing can be written under either key any more.
            _writeClosed = true;
            throw ErrnoIOException("setsockopt(TLS_TX) after a KeyUpdate", errno);
        }
        _keyUpdateOwed = false;
        _state.KeyUpdatePending = false;
        _epochBytes = 0;
    }

    private async Task EnforceUsageLimitLockedAsync(CancellationToken cancellationToken)
    {
        if (_epochBytes < UsageLimitBytes) return;
        if (_suite.IsTls13)
            await SendKeyUpdateLockedAsync(requestPeerUpdate: false, cancellationToken).ConfigureAwait(false);
        else if (_suite.Aead != TlsAead.ChaCha20Poly1305)
            throw new IOException("TLS 1.2 AEAD usage limit reached: this connection cannot be rekeyed and must be closed");
    }

    private async Task SendDataLockedAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                data = data[sent..];
                _epochBytes += sent;
            }
        }
        catch (Exception e)
        {
            // Part of the data may have been sealed and sent: the stream cannot say where it stopped.
            _writeClosed = true;
            if (e is SocketException socketError) throw new IOException(socketError.Message, socketError);
            throw;
        }
    }

    /// <summary>
    /// One control record, sealed by the kernel. Waits for room in the socket buffer unless <paramref name="bestEffort"/>
    /// (fatal alerts: the connection is failing anyway).
    /// </summary>
    private async Task SendControlLockedAsync(TlsContentType type, byte[] content, bool bestEffort, CancellationToken cancellationToken)
    {
        while (true)
        {
            nint sent = Interop.Libc.SendTlsRecord(
                _socket.SafeHandle, (byte)type, content, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL, out int errno);
            if (sent == content.Length) return;
            if (sent < 0 && errno == Interop.EAGAIN)
            {
                if (bestEffort) return;
                await s_writablePoller.Value.WaitAsync(_socket.SafeHandle, writable: true, cancellationToken).ConfigureAwait(false);
                continue;
            }
            _writeClosed = true;
            if (bestEffort) return;
            throw sent >= 0
                ? new IOException($"the kernel took {sent} of the {content.Length} bytes of a TLS control record")
                : ErrnoIOException("sendmsg", errno);
        }
    }

    /// <summary>Dispose's close_notify: never waits, and skipped while a write holds the lock.</summary>
    private void SendCloseNotifyIfIdle()
    {
        if (!_writeLock.Wait(0)) return;
        try
        {
            if (_writeClosed) return;
            _writeClosed = true;
            ReadOnlySpan<byte> closeNotify = [(byte)TlsAlertLevel.Warning, (byte)TlsAlertDescription.CloseNotify];
            Interop.Libc.SendTlsRecord(_socket.SafeHandle, (byte)TlsContentType.Alert, closeNotify,
                Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL, out _);
        }
        catch (ObjectDisposedException)
        {
            // The socket was closed under us: nothing to send on.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfWriteClosed()
    {
        if (_writeClosed) throw new IOException("the TLS connection is closed for writing");
    }
}
