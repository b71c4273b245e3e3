using System.Buffers;
using System.Net.Sockets;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class KernelTlsStream
{
    private const byte KeyUpdateType = 24;
    private const byte ClientHelloType = 1;

    // A read into a buffer larger than any record's plaintext always takes a whole record (the kernel copies
    // min(record, buffer)), so the rest of a control record is read with one such buffer, rented for that read.
    private const int WholeRecordBuffer = TlsRecordLimits.MaxPlaintext + 1;

    // Control records worth reading are tiny (alerts: 2 bytes, KeyUpdate: 5); of anything longer only the start is kept.
    private readonly byte[] _control = new byte[64];
    private readonly byte[] _probe = new byte[1];
    private ReadOnlyMemory<byte> _initialPlaintext;
    private byte _controlType;
    private int _controlLength;
    private bool _controlTruncated;
    private int _readInProgress;
    private bool _peerClosed;
    private IOException? _readFailure;

    private enum Received
    {
        Data,
        ControlPart,
        ControlRecord,
        WouldBlock,
        Error,
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Interlocked.Exchange(ref _readInProgress, 1) != 0) throw new InvalidOperationException("only one read at a time");
        try
        {
            if (!_initialPlaintext.IsEmpty) return CopyInitialPlaintext(buffer.Span);
            SocketException? waitError = null;
            while (true)
            {
                if (_peerClosed) return 0;
                if (_readFailure is not null) throw _readFailure;
                Received received = ReceiveOnce(buffer.Span, out int count, out int errno);
                if (received == Received.Data) return count;
                if (received == Received.ControlRecord) await ProcessControlRecordAsync(cancellationToken).ConfigureAwait(false);
                else if (received == Received.Error) await FailReceiveAsync(errno).ConfigureAwait(false);
                else if (received == Received.WouldBlock)
                {
                    // The wait failed, yet the socket has nothing to read: report the wait's error rather than spin.
                    if (waitError is not null) throw new IOException(waitError.Message, waitError);
                    waitError = await WaitReadableAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                waitError = null;
            }
        }
        finally
        {
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    private int CopyInitialPlaintext(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _initialPlaintext.Length);
        _initialPlaintext.Span[..n].CopyTo(destination);
        _initialPlaintext = _initialPlaintext[n..];
        return n;
    }

    /// <summary>
    /// One non-blocking recvmsg. Application data lands in the caller's buffer. A zero-byte read only peeks, to learn
    /// whether data is ready without taking any. A control record is collected from the caller's buffer, then (when
    /// it did not fit) from a whole-record buffer. It is complete when the kernel says so with MSG_EOR, or when the
    /// read did not fill its buffer: the kernel copies min(rest of the record, buffer) and never mixes records of
    /// different types in one read.
    /// </summary>
    private Received ReceiveOnce(Span<byte> buffer, out int count, out int errno)
    {
        count = 0;
        if (_controlType != 0) return ReceiveRestOfControl(out errno);
        bool probe = buffer.IsEmpty;
        Span<byte> destination = probe ? _probe : buffer;
        int flags = Interop.Libc.MSG_DONTWAIT | (probe ? Interop.Libc.MSG_PEEK : 0);
        nint n = Interop.Libc.ReceiveTlsRecord(_socket.SafeHandle, destination, flags, out byte type, out int messageFlags, out errno);
        if (n < 0) return errno == Interop.EAGAIN ? Received.WouldBlock : Received.Error;
        if (type == (byte)TlsContentType.ApplicationData)
        {
            count = probe ? 0 : (int)n; // 0 bytes: end of stream, or (probe) data ready
            return Received.Data;
        }
        _controlType = type;
        if (probe) return Received.ControlPart; // peeked only: the next call takes it for real
        CollectControl(destination[..(int)n]);
        bool whole = (messageFlags & Interop.Libc.MSG_EOR) != 0 || n < destination.Length;
        return whole ? Received.ControlRecord : Received.ControlPart;
    }

    private Received ReceiveRestOfControl(out int errno)
    {
        byte[] rest = ArrayPool<byte>.Shared.Rent(WholeRecordBuffer);
        try
        {
            nint n = Interop.Libc.ReceiveTlsRecord(
                _socket.SafeHandle, rest.AsSpan(0, WholeRecordBuffer), Interop.Libc.MSG_DONTWAIT, out byte type, out _, out errno);
            if (n < 0) return errno == Interop.EAGAIN ? Received.WouldBlock : Received.Error;
            if (type != _controlType)
            {
                _readFailure = new IOException(n == 0 && type == (byte)TlsContentType.ApplicationData
                    ? "the connection closed in the middle of a TLS control record"
                    : $"the kernel returned a record of type {type} in the middle of a record of type {_controlType}");
                throw _readFailure;
            }
            CollectControl(rest.AsSpan(0, (int)n));
            return Received.ControlRecord;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rest, clearArray: true);
        }
    }

    private void CollectControl(ReadOnlySpan<byte> bytes)
    {
        int kept = Math.Min(bytes.Length, _control.Length - _controlLength);
        bytes[..kept].CopyTo(_control.AsSpan(_controlLength));
        _controlLength += kept;
        _controlTruncated |= kept < bytes.Length;
    }

    /// <summary>
    /// Waits for a record through .NET's own socket engine (no thread blocked): a one-byte MSG_PEEK. The kernel
    /// answers a peek without a cmsg buffer with EIO when the next record is a control record, and leaves it
    /// queued; the recvmsg that follows reads it properly. Any error is returned for that recvmsg to explain.
    /// </summary>
    private async Task<SocketException?> WaitReadableAsync(CancellationToken cancellationToken)
    {
        SocketException? error = null;
        try
        {
            await _socket.ReceiveAsync(_probe, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            error = e;
        }
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return error;
    }

    private async Task ProcessControlRecordAsync(CancellationToken cancellationToken)
    {
        byte type = _controlType;
        int length = _controlLength;
        bool truncated = _controlTruncated;
        _controlType = 0;
        _controlLength = 0;
        _controlTruncated = false;
        switch ((TlsContentType)type)
        {
            case TlsContentType.Alert:
                await ProcessAlertsAsync(length, truncated).ConfigureAwait(false);
                break;
            case TlsContentType.Handshake:
                await ProcessHandshakeAsync(length, truncated, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await FailAsync(TlsAlertDescription.UnexpectedMessage, $"record of content type {type}").ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Alerts, two bytes each (the kernel may hand over consecutive alert records in one read).</summary>
    private async Task ProcessAlertsAsync(int length, bool truncated)
    {
        if (length == 0 || length % 2 != 0 || truncated)
            await FailAsync(TlsAlertDescription.DecodeError, $"alert record of {length} bytes").ConfigureAwait(false);
        for (int i = 0; i < length; i += 2)
        {
            var level = (TlsAlertLevel)_control[i];
            var alert = (TlsAlertDescription)_control[i + 1];
            if (alert == TlsAlertDescription.CloseNotify)
            {
                _peerClosed = true;
                return;
            }
            // TLS 1.3 (§6): every alert but close_notify and user_canceled is fatal whatever its level says.
            bool warning = _suite.IsTls13 ? alert == TlsAlertDescription.UserCanceled : level == TlsAlertLevel.Warning;
            if (warning) continue;
            _writeClosed = true; // no more records after a fatal alert (RFC 8446 §6.2)
            _readFailure = new TlsAlertException(alert, sentByPeer: true, "the peer ended the connection");
            throw _readFailure;
        }
    }

    private async Task ProcessHandshakeAsync(int length, bool truncated, CancellationToken cancellationToken)
    {
        byte messageType = length > 0 ? _control[0] : (byte)0;
        if (!_suite.IsTls13)
        {
            // A ClientHello now is a renegotiation attempt: refuse it politely, as the user-space layer does.
            if (length > 0 && messageType == ClientHelloType)
            {
                await SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.NoRenegotiation, cancellationToken).ConfigureAwait(false);
                return;
            }
            await FailAsync(TlsAlertDescription.UnexpectedMessage, $"handshake message {messageType} after the handshake").ConfigureAwait(false);
        }
        // Without post-handshake authentication, KeyUpdate is the only handshake message a TLS 1.3 client may send.
        if (length == 0 || messageType != KeyUpdateType)
            await FailAsync(TlsAlertDescription.UnexpectedMessage, $"handshake message {messageType} after the handshake").ConfigureAwait(false);
        // The kernel stops decrypting after a record that starts with a KeyUpdate until TLS_RX has the next key, so
        // the whole message must be in this record; RFC 8446 §5.1 also requires it to end the record.
        if (length < 5 || _control[1] != 0 || _control[2] != 0 || _control[3] != 1)
            await FailAsync(TlsAlertDescription.DecodeError, $"KeyUpdate record of {length} bytes").ConfigureAwait(false);
        if (length > 5 || truncated)
            await FailAsync(TlsAlertDescription.UnexpectedMessage, "KeyUpdate not at the end of its record").ConfigureAwait(false);
        byte request = _control[4];
        if (request > 1)
            await FailAsync(TlsAlertDescription.IllegalParameter, $"KeyUpdate request_update {request}").ConfigureAwait(false);
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.ReadSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.ReadSecret, _state.ReadKey, _state.ReadIv);
        _state.ReadSequence = 0;
        int errno = KernelTls.InstallKeys(_socket.SafeHandle, Interop.Libc.TLS_RX, _suite, _state.ReadKey, _state.ReadIv, 0);
        if (errno != 0)
            await FailAsync(TlsAlertDescription.InternalError, $"the kernel refused the next read key: {KernelTls.Describe(errno)}").ConfigureAwait(false);
        if (request == 1) await AnswerKeyUpdateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the kernel's recvmsg errors mean for the peer, with the alert the user-space layer would send.</summary>
    private Task FailReceiveAsync(int errno) => errno switch
    {
        Interop.Libc.EBADMSG => FailAsync(TlsAlertDescription.BadRecordMac, "the kernel could not decrypt a record"),
        Interop.Libc.EMSGSIZE => FailAsync(TlsAlertDescription.RecordOverflow, "record larger than the protocol allows"),
        Interop.Libc.EINVAL => FailAsync(TlsAlertDescription.ProtocolVersion, "record header refused by the kernel"),
        _ => throw (_readFailure = ErrnoIOException("recvmsg", errno)),
    };

    /// <summary>Sends a fatal alert (best effort), then fails this read and every later one.</summary>
    private async Task FailAsync(TlsAlertDescription alert, string reason)
    {
        _readFailure = new TlsAlertException(alert, sentByPeer: false, reason);
        try
        {
            await SendAlertAsync(TlsAlertLevel.Fatal, alert, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The peer may already be gone; the read fails either way.
        }
        throw _readFailure;
    }
}
