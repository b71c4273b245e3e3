using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Baton.IO;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// The user-space record backend: records are opened and sealed with EVP (<see cref="TlsRecordProtector"/>) and
/// moved over an inner stream (the handed-off socket). Whole records are read into one buffer and decrypted in
/// place; that buffer is held only while records are arriving (an idle connection waits with a zero-byte read
/// and holds none). Bytes the front read but libssl did not process (the initial ciphertext) come first.
/// </summary>
internal sealed partial class UserSpaceRecordBackend : RecordBackend
{
    /// <summary>Room for the largest record either version allows.</summary>
    private const int ReadBufferSize = TlsRecordLimits.HeaderLength + TlsRecordLimits.MaxTls12Ciphertext;

    private readonly Stream _inner;
    private readonly bool _leaveInnerStreamOpen;
    private readonly TlsSessionState _state;
    private readonly TlsCipherSuiteInfo _suite;
    private readonly TlsRecordProtector _reader;
    private readonly TlsRecordProtector _writer;
    private ReadOnlyMemory<byte> _initialCiphertext;
    private byte[] _readBuffer;
    private int _rawStart;
    private int _rawEnd;
    /// <summary>How far into the read buffer bytes were ever written since it was rented.</summary>
    private int _rawHighWater;
    private volatile bool _released;

    private enum HeaderCheck
    {
        Valid,
        ContentType,
        Version,
        Length,
    }

    public UserSpaceRecordBackend(Stream inner, TlsSessionState state, ReadOnlyMemory<byte> initialCiphertext, bool leaveInnerStreamOpen)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(state);
        _inner = inner;
        _leaveInnerStreamOpen = leaveInnerStreamOpen;
        _state = state;
        _suite = state.Suite;
        _reader = new TlsRecordProtector(_suite, encrypt: false, state.ReadKey, state.ReadIv, state.ReadSequence);
        _writer = new TlsRecordProtector(_suite, encrypt: true, state.WriteKey, state.WriteIv, state.WriteSequence);
        _initialCiphertext = initialCiphertext;
        _readBuffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
    }

    public override bool ResetByPeer => _inner is DuplexStream { ResetByPeer: true };

    /// <summary>Buffers one whole record, then opens it in place. The destination is not used: records are opened in the read buffer.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReceivedRecord> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            int available = _rawEnd - _rawStart;
            int needed = TlsRecordLimits.HeaderLength;
            if (available >= TlsRecordLimits.HeaderLength)
            {
                ReadOnlySpan<byte> header = _readBuffer.AsSpan(_rawStart, TlsRecordLimits.HeaderLength);
                HeaderCheck check = CheckHeader(header, out int bodyLength);
                if (check != HeaderCheck.Valid) return Refuse(check, header);
                needed += bodyLength;
                if (available >= needed) return Open(needed);
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
            // Released while waiting (a connection abort): the buffers and keys are gone.
            ObjectDisposedException.ThrowIf(_released, this);
            if (read == 0)
            {
                // A reset ends the stream wherever it falls; a clean close only at a record boundary.
                if (available == 0 || ResetByPeer) return ReceivedRecord.Ended;
                throw new IOException("the connection closed in the middle of a TLS record");
            }
            _rawEnd += read;
            _rawHighWater = Math.Max(_rawHighWater, _rawEnd);
        }
    }

    public override string? InstallReadKey()
    {
        _reader.Rekey(_state.ReadKey, _state.ReadIv);
        return null;
    }

    private ReceivedRecord Open(int recordLength)
    {
        int recordStart = _rawStart;
        _rawStart += recordLength;
        Span<byte> record = _readBuffer.AsSpan(recordStart, recordLength);
        if (!_reader.TryOpen(record, out TlsContentType type, out int offset, out int length, out TlsAlertDescription alert))
            return ReceivedRecord.Refused(alert, alert == TlsAlertDescription.BadRecordMac ? "decryption failed" : $"invalid record plaintext ({alert})");
        _state.ReadSequence = _reader.Sequence;
        return ReceivedRecord.Record(type, _readBuffer.AsMemory(recordStart + offset, length));
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
        ObjectDisposedException.ThrowIf(_released, this);
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

    private HeaderCheck CheckHeader(ReadOnlySpan<byte> header, out int bodyLength)
    {
        var type = (TlsContentType)header[0];
        bodyLength = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        // TLS 1.3 protects every record as application_data; change_cipher_spec is over once the handshake is.
        bool typeOk = _suite.IsTls13
            ? type == TlsContentType.ApplicationData
            : type is TlsContentType.ApplicationData or TlsContentType.Alert or TlsContentType.Handshake;
        if (!typeOk) return HeaderCheck.ContentType;
        // RFC 8446 §5.1: legacy_record_version is ignored in TLS 1.3.
        if (!_suite.IsTls13 && BinaryPrimitives.ReadUInt16BigEndian(header[1..]) != TlsCipherSuiteInfo.Tls12) return HeaderCheck.Version;
        return bodyLength > (_suite.IsTls13 ? TlsRecordLimits.MaxTls13Ciphertext : TlsRecordLimits.MaxTls12Ciphertext)
            ? HeaderCheck.Length
            : HeaderCheck.Valid;
    }

    private static ReceivedRecord Refuse(HeaderCheck check, ReadOnlySpan<byte> header) => check switch
    {
        HeaderCheck.ContentType => ReceivedRecord.Refused(TlsAlertDescription.UnexpectedMessage, $"record of content type {header[0]}"),
        HeaderCheck.Version => ReceivedRecord.Refused(TlsAlertDescription.ProtocolVersion, "record version is not 0x0303"),
        _ => ReceivedRecord.Refused(TlsAlertDescription.RecordOverflow, $"record of {BinaryPrimitives.ReadUInt16BigEndian(header[3..])} bytes"),
    };

    public override string? DetachRefusal => null;

    /// <summary>What the read buffer holds past the last opened record, then what is left of the front's initial ciphertext.</summary>
    public override byte[]? TakeUnreadCiphertext()
    {
        byte[] unread = [.. _readBuffer.AsSpan(_rawStart, _rawEnd - _rawStart), .. _initialCiphertext.Span];
        _rawStart = _rawEnd = 0;
        _initialCiphertext = default;
        return unread;
    }

    public override void Release(bool readPending)
    {
        _released = true;
        _reader.Dispose();
        _writer.Dispose();
        // The read buffer held plaintext: cleared before it goes back to the shared pool. A receive still pending
        // (a misuse) would otherwise see a recycled buffer, so that case drops the buffer.
        byte[] read = Interlocked.Exchange(ref _readBuffer, []);
        if (!readPending) ArrayPool<byte>.Shared.Return(read, clearArray: true);
        else Array.Clear(read);
    }

    public override void Close()
    {
        if (!_leaveInnerStreamOpen) _inner.Dispose();
    }

    public override ValueTask CloseAsync() => _leaveInnerStreamOpen ? ValueTask.CompletedTask : _inner.DisposeAsync();
}
