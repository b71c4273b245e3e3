using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class TlsRecordStream
{
    private const byte KeyUpdateType = 24;
    private const byte ClientHelloType = 1;

    private ReadOnlyMemory<byte> _initialPlaintext;
    private ReadOnlyMemory<byte> _initialCiphertext;
    private int _rawStart;
    private int _rawEnd;
    /// <summary>How far into the read buffer bytes were ever written since it was rented.</summary>
    private int _rawHighWater;
    private int _plainOffset;
    private int _plainCount;
    private int _readInProgress;
    private int _recordsWithoutData;

    /// <summary>OpenSSL allows 32 empty records in a row (MAX_EMPTY_RECORDS); the same bound covers alerts and refused renegotiations.</summary>
    private const int MaxRecordsWithoutData = 32;
    private bool _peerClosed;
    private TlsAlertException? _readFailure;

    // A post-handshake handshake message may span records: its 4-byte header is collected here, its body counted.
    private readonly byte[] _handshakeHeader = new byte[4];
    private int _handshakeHeaderLength;
    private int _handshakeBodyRemaining;
    private byte _keyUpdateRequest;

    private enum RecordOutcome
    {
        Data,
        Nothing,
        KeyUpdateRequested,
        Renegotiation,
        CloseNotify,
        Fatal,
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Interlocked.Exchange(ref _readInProgress, 1) != 0) throw new InvalidOperationException("only one read at a time");
        try
        {
            while (true)
            {
                int copied = CopyBufferedPlaintext(buffer.Span);
                if (copied > 0 || _peerClosed) return copied;
                // A zero-byte read (Kestrel's way to wait for data without a buffer) completes once plaintext is ready.
                if (buffer.IsEmpty && (_plainCount > 0 || !_initialPlaintext.IsEmpty)) return 0;
                if (_readFailure is not null) throw _readFailure;
                int recordLength = await ReadRecordAsync(cancellationToken).ConfigureAwait(false);
                if (recordLength == 0) return 0;
                RecordOutcome outcome = ProcessRecord(recordLength, out TlsAlertDescription alert, out string reason);
                switch (outcome)
                {
                    case RecordOutcome.KeyUpdateRequested:
                        await AnswerKeyUpdateAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case RecordOutcome.Renegotiation:
                        await SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.NoRenegotiation, cancellationToken).ConfigureAwait(false);
                        break;
                    case RecordOutcome.Fatal:
                        await FailAsync(alert, reason).ConfigureAwait(false);
                        break;
                }
                // Empty records, warnings and refused renegotiations cost work but yield nothing:
                // bounded, as OpenSSL bounds them, so a peer cannot keep the worker busy for free.
                if (_plainCount > 0)
                    _recordsWithoutData = 0;
                else if (++_recordsWithoutData > MaxRecordsWithoutData)
                    await FailAsync(TlsAlertDescription.UnexpectedMessage, $"more than {MaxRecordsWithoutData} records in a row without data").ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    private int CopyBufferedPlaintext(Span<byte> destination)
    {
        if (!_initialPlaintext.IsEmpty)
        {
            int n = Math.Min(destination.Length, _initialPlaintext.Length);
            _initialPlaintext.Span[..n].CopyTo(destination);
            _initialPlaintext = _initialPlaintext[n..];
            return n;
        }
        int count = Math.Min(destination.Length, _plainCount);
        _readBuffer.AsSpan(_plainOffset, count).CopyTo(destination);
        _plainOffset += count;
        _plainCount -= count;
        return count;
    }

    /// <summary>Buffers one whole record at _rawStart; returns its length, or 0 on end of stream at a record boundary.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadRecordAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int available = _rawEnd - _rawStart;
            int needed = TlsRecordLimits.HeaderLength;
            if (available >= TlsRecordLimits.HeaderLength)
            {
                int bodyLength = CheckHeader(_readBuffer.AsSpan(_rawStart), out TlsAlertDescription alert, out string reason);
                if (bodyLength < 0) await FailAsync(alert, reason).ConfigureAwait(false);
                needed += bodyLength;
                if (available >= needed) return needed;
            }
            if (available == 0)
            {
                _rawStart = _rawEnd = 0;
                if (_initialCiphertext.IsEmpty)
                    await WaitForDataWithoutBufferAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (_readBuffer.Length - _rawStart < needed)
            {
                _readBuffer.AsSpan(_rawStart, available).CopyTo(_readBuffer);
                _rawStart = 0;
                _rawEnd = available;
            }
            int read = await FillAsync(cancellationToken).ConfigureAwait(false);
            // Disposed while waiting (a connection abort): the buffers and keys are gone.
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (read == 0)
            {
                if (available == 0) return 0;
                throw new IOException("the connection closed in the middle of a TLS record");
            }
            _rawEnd += read;
            _rawHighWater = Math.Max(_rawHighWater, _rawEnd);
        }
    }

    /// <summary>
    /// An idle connection holds no read buffer: between records it gives the buffer back and waits with a
    /// zero-byte read until the socket has data. Only the bytes records ever filled (they are decrypted
    /// in place) are cleared first: a whole-buffer clear per keep-alive request was a measurable share of
    /// a small request's cost.
    /// </summary>
    private async ValueTask WaitForDataWithoutBufferAsync(CancellationToken cancellationToken)
    {
        byte[] idle = Interlocked.Exchange(ref _readBuffer, []);
        if (idle.Length > 0)
        {
            Array.Clear(idle, 0, _rawHighWater);
            ArrayPool<byte>.Shared.Return(idle);
        }
        _rawHighWater = 0;
        await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _readBuffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
    }

    private ValueTask<int> FillAsync(CancellationToken cancellationToken)
    {
        Memory<byte> free = _readBuffer.AsMemory(_rawEnd);
        if (_initialCiphertext.IsEmpty) return _inner.ReadAsync(free, cancellationToken);
        int n = Math.Min(free.Length, _initialCiphertext.Length);
        _initialCiphertext[..n].CopyTo(free);
        _initialCiphertext = _initialCiphertext[n..];
        return ValueTask.FromResult(n);
    }

    /// <summary>Returns the record's body length, or -1 with the alert to send when the header is unacceptable.</summary>
    private int CheckHeader(ReadOnlySpan<byte> header, out TlsAlertDescription alert, out string reason)
    {
        var type = (TlsContentType)header[0];
        int length = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        alert = TlsAlertDescription.UnexpectedMessage;
        reason = $"record of content type {header[0]}";
        // TLS 1.3 protects every record as application_data; change_cipher_spec is over once the handshake is.
        bool typeOk = _suite.IsTls13
            ? type == TlsContentType.ApplicationData
            : type is TlsContentType.ApplicationData or TlsContentType.Alert or TlsContentType.Handshake;
        if (!typeOk) return -1;
        // RFC 8446 §5.1: legacy_record_version is ignored in TLS 1.3.
        if (!_suite.IsTls13 && BinaryPrimitives.ReadUInt16BigEndian(header[1..]) != TlsCipherSuiteInfo.Tls12)
        {
            alert = TlsAlertDescription.ProtocolVersion;
            reason = "record version is not 0x0303";
            return -1;
        }
        if (length > (_suite.IsTls13 ? TlsRecordLimits.MaxTls13Ciphertext : TlsRecordLimits.MaxTls12Ciphertext))
        {
            alert = TlsAlertDescription.RecordOverflow;
            reason = $"record of {length} bytes";
            return -1;
        }
        return length;
    }

    private RecordOutcome ProcessRecord(int recordLength, out TlsAlertDescription alert, out string reason)
    {
        int recordStart = _rawStart;
        _rawStart += recordLength;
        Span<byte> record = _readBuffer.AsSpan(recordStart, recordLength);
        reason = "decryption failed";
        if (!_reader.TryOpen(record, out TlsContentType type, out int offset, out int length, out alert))
        {
            if (alert != TlsAlertDescription.BadRecordMac) reason = $"invalid record plaintext ({alert})";
            return RecordOutcome.Fatal;
        }
        _state.ReadSequence = _reader.Sequence;
        if (type != TlsContentType.Handshake && (_handshakeHeaderLength != 0 || _handshakeBodyRemaining != 0))
        {
            reason = $"content type {(byte)type} inside a handshake message";
            return Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
        }
        ReadOnlySpan<byte> content = record.Slice(offset, length);
        switch (type)
        {
            case TlsContentType.ApplicationData:
                _plainOffset = recordStart + offset;
                _plainCount = length;
                return length == 0 ? RecordOutcome.Nothing : RecordOutcome.Data;
            case TlsContentType.Alert:
                return ProcessAlert(content, out alert, out reason);
            case TlsContentType.Handshake:
                return ProcessHandshake(content, out alert, out reason);
            default:
                reason = $"inner content type {(byte)type}";
                return Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
        }
    }

    private RecordOutcome ProcessAlert(ReadOnlySpan<byte> content, out TlsAlertDescription alert, out string reason)
    {
        reason = "alert record that is not 2 bytes";
        if (content.Length != 2) return Fatal(TlsAlertDescription.DecodeError, out alert);
        alert = (TlsAlertDescription)content[1];
        var level = (TlsAlertLevel)content[0];
        if (alert == TlsAlertDescription.CloseNotify)
        {
            _peerClosed = true;
            return RecordOutcome.CloseNotify;
        }
        // TLS 1.3 (§6): every alert but close_notify and user_canceled is fatal whatever its level says.
        bool warning = _suite.IsTls13 ? alert == TlsAlertDescription.UserCanceled : level == TlsAlertLevel.Warning;
        if (warning) return RecordOutcome.Nothing;
        _readFailure = new TlsAlertException(alert, sentByPeer: true, "the peer ended the connection");
        _writeClosed = true; // no more records after a fatal alert (RFC 8446 §6.2)
        throw _readFailure;
    }

    private RecordOutcome ProcessHandshake(ReadOnlySpan<byte> content, out TlsAlertDescription alert, out string reason)
    {
        RecordOutcome outcome = RecordOutcome.Nothing;
        alert = default;
        reason = "empty handshake record";
        if (content.IsEmpty) return Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
        while (!content.IsEmpty)
        {
            if (_handshakeHeaderLength < 4)
            {
                int n = Math.Min(4 - _handshakeHeaderLength, content.Length);
                content[..n].CopyTo(_handshakeHeader.AsSpan(_handshakeHeaderLength));
                _handshakeHeaderLength += n;
                content = content[n..];
                if (_handshakeHeaderLength < 4) break;
                RecordOutcome started = StartHandshakeMessage(out alert, out reason);
                if (started == RecordOutcome.Fatal) return started;
                if (started == RecordOutcome.Renegotiation) outcome = started;
            }
            int body = Math.Min(_handshakeBodyRemaining, content.Length);
            if (body > 0) _keyUpdateRequest = content[0];
            content = content[body..];
            _handshakeBodyRemaining -= body;
            if (_handshakeBodyRemaining > 0) break;
            _handshakeHeaderLength = 0;
            if (_handshakeHeader[0] != KeyUpdateType) continue;
            // RFC 8446 §5.1: a message preceding a key change must end its record.
            reason = "KeyUpdate not at the end of its record";
            if (!content.IsEmpty) return Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
            return ApplyPeerKeyUpdate(out alert, out reason);
        }
        return outcome;
    }

    private RecordOutcome StartHandshakeMessage(out TlsAlertDescription alert, out string reason)
    {
        byte messageType = _handshakeHeader[0];
        int length = (_handshakeHeader[1] << 16) | (_handshakeHeader[2] << 8) | _handshakeHeader[3];
        _handshakeBodyRemaining = length;
        alert = default;
        reason = $"handshake message {messageType} after the handshake";
        if (!_suite.IsTls13)
        {
            // A ClientHello now is a renegotiation attempt: refuse politely and skip it (RFC 5746 §4.1 style).
            return messageType == ClientHelloType ? RecordOutcome.Renegotiation : Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
        }
        // Without post-handshake authentication, KeyUpdate is the only handshake message a TLS 1.3 client may send.
        if (messageType != KeyUpdateType) return Fatal(TlsAlertDescription.UnexpectedMessage, out alert);
        reason = $"KeyUpdate of {length} bytes";
        return length == 1 ? RecordOutcome.Nothing : Fatal(TlsAlertDescription.DecodeError, out alert);
    }

    private RecordOutcome ApplyPeerKeyUpdate(out TlsAlertDescription alert, out string reason)
    {
        alert = default;
        reason = $"KeyUpdate request_update {_keyUpdateRequest}";
        if (_keyUpdateRequest > 1) return Fatal(TlsAlertDescription.IllegalParameter, out alert);
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.ReadSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.ReadSecret, _state.ReadKey, _state.ReadIv);
        _reader.Rekey(_state.ReadKey, _state.ReadIv);
        _state.ReadSequence = 0;
        return _keyUpdateRequest == 1 ? RecordOutcome.KeyUpdateRequested : RecordOutcome.Nothing;
    }

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

    private static RecordOutcome Fatal(TlsAlertDescription description, out TlsAlertDescription alert)
    {
        alert = description;
        return RecordOutcome.Fatal;
    }
}
