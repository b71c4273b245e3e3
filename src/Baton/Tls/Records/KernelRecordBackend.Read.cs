using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Reading: non-blocking recvmsg; application data lands straight in the caller's buffer. A control record is
/// collected whole in a buffer rented while it is read and processed: the kernel copies min(rest of the record,
/// buffer) and never mixes records of different types in one read, so a read into more room than any record's
/// plaintext takes the rest of the record. The kernel may hand over consecutive alert records in one read: they
/// are split into 2-byte alerts before the protocol sees them. A client's reset reads as end of stream.
/// </summary>
internal sealed partial class KernelRecordBackend
{
    private const int ControlBufferSize = 2 * TlsRecordLimits.MaxPlaintext;

    private readonly byte[] _probe = new byte[1];
    private readonly PeekEventArgs _peek;
    private byte[] _controlBuffer = [];
    /// <summary>The content type of the control record being collected, 0 when none is.</summary>
    private byte _controlType;
    private int _controlLength;
    /// <summary>Alerts the kernel handed over with the last one, not yet given to the protocol.</summary>
    private Memory<byte> _moreAlerts;
    private bool _resetByPeer;
    private volatile bool _released;

    private enum Step
    {
        Done,
        More,
        WouldBlock,
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReceivedRecord> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (!_moreAlerts.IsEmpty) return NextAlert();
        if (_controlType == 0) ReturnControlBuffer();
        SocketError waitError = SocketError.Success;
        while (true)
        {
            Step step = ReceiveOnce(destination, out ReceivedRecord record);
            if (step == Step.Done) return record;
            if (step == Step.More)
            {
                waitError = SocketError.Success;
                continue;
            }
            // The wait failed, yet the socket has nothing to read: report the wait's error rather than spin.
            if (waitError != SocketError.Success) throw WaitFailure(waitError);
            waitError = await WaitReadableAsync(cancellationToken).ConfigureAwait(false);
            ObjectDisposedException.ThrowIf(_released, this);
            if (waitError == SocketError.ConnectionReset)
            {
                _resetByPeer = true;
                return ReceivedRecord.Ended;
            }
        }
    }

    /// <summary>
    /// One recvmsg. An empty destination only peeks, to learn whether data is ready without taking any; a control
    /// record found that way is read whole by the next call.
    /// </summary>
    private Step ReceiveOnce(Memory<byte> destination, out ReceivedRecord record)
    {
        record = default;
        if (_controlType != 0) return ReceiveRestOfControl(out record);
        bool probe = destination.IsEmpty;
        Span<byte> into = probe ? _probe : destination.Span;
        int flags = Interop.Libc.MSG_DONTWAIT | (probe ? Interop.Libc.MSG_PEEK : 0);
        nint n = Interop.Libc.ReceiveTlsRecord(_socket.SafeHandle, into, flags, out byte type, out int messageFlags, out int errno);
        if (n < 0) return Failed(errno, out record);
        if (type == (byte)TlsContentType.ApplicationData)
        {
            record = probe ? ReceivedRecord.Ready : n == 0 ? ReceivedRecord.Ended
                : ReceivedRecord.Record(TlsContentType.ApplicationData, destination[..(int)n], inDestination: true);
            return Step.Done;
        }
        _controlType = type;
        _controlLength = 0;
        _controlBuffer = ArrayPool<byte>.Shared.Rent(ControlBufferSize);
        if (probe) return Step.More;
        into[..(int)n].CopyTo(_controlBuffer);
        _controlLength = (int)n;
        bool whole = (messageFlags & Interop.Libc.MSG_EOR) != 0 || n < into.Length;
        return whole ? CompleteControl(out record) : Step.More;
    }

    private Step ReceiveRestOfControl(out ReceivedRecord record)
    {
        record = default;
        nint n = Interop.Libc.ReceiveTlsRecord(
            _socket.SafeHandle, _controlBuffer.AsSpan(_controlLength), Interop.Libc.MSG_DONTWAIT, out byte type, out _, out int errno);
        if (n < 0) return Failed(errno, out record);
        if (type != _controlType)
        {
            throw new IOException(n == 0 && type == (byte)TlsContentType.ApplicationData
                ? "the connection closed in the middle of a TLS control record"
                : $"the kernel returned a record of type {type} in the middle of a record of type {_controlType}");
        }
        _controlLength += (int)n;
        return CompleteControl(out record);
    }

    private Step CompleteControl(out ReceivedRecord record)
    {
        var type = (TlsContentType)_controlType;
        Memory<byte> content = _controlBuffer.AsMemory(0, _controlLength);
        _controlType = 0;
        if (type == TlsContentType.Alert && content.Length > 2 && content.Length % 2 == 0)
        {
            _moreAlerts = content[2..];
            content = content[..2];
        }
        record = ReceivedRecord.Record(type, content);
        return Step.Done;
    }

    private ReceivedRecord NextAlert()
    {
        Memory<byte> alert = _moreAlerts[..2];
        _moreAlerts = _moreAlerts[2..];
        return ReceivedRecord.Record(TlsContentType.Alert, alert);
    }

    /// <summary>What recvmsg's errors mean, with the alert the user-space layer would send for the same input.</summary>
    private Step Failed(int errno, out ReceivedRecord record)
    {
        record = errno switch
        {
            Interop.Libc.ECONNRESET => ReceivedRecord.Ended,
            Interop.Libc.EBADMSG => ReceivedRecord.Refused(TlsAlertDescription.BadRecordMac, "the kernel could not decrypt a record"),
            Interop.Libc.EMSGSIZE => ReceivedRecord.Refused(TlsAlertDescription.RecordOverflow, "record larger than the protocol allows"),
            Interop.Libc.EINVAL => ReceivedRecord.Refused(TlsAlertDescription.ProtocolVersion, "record header refused by the kernel"),
            Interop.Libc.EKEYEXPIRED => ReceivedRecord.Refused(TlsAlertDescription.InternalError, "the kernel holds records back for a read key it never got"),
            Interop.EAGAIN => default,
            _ => throw ErrnoIOException("recvmsg", errno),
        };
        if (errno == Interop.Libc.ECONNRESET)
        {
            _resetByPeer = true;
            _controlType = 0; // a record cut off by a reset is not waited for: every later read ends too
        }
        return errno == Interop.EAGAIN ? Step.WouldBlock : Step.Done;
    }

    private static IOException WaitFailure(SocketError error)
    {
        var inner = new SocketException((int)error);
        return new IOException(inner.Message, inner);
    }

    private void ReturnControlBuffer()
    {
        _moreAlerts = default;
        byte[] control = _controlBuffer;
        if (control.Length == 0) return;
        _controlBuffer = [];
        ArrayPool<byte>.Shared.Return(control, clearArray: true);
    }

    /// <summary>
    /// Waits for a record through .NET's own socket engine (no thread blocked): a one-byte MSG_PEEK. The kernel
    /// answers a peek without a cmsg buffer with EIO when the next record is a control record, and leaves it
    /// queued; the recvmsg that follows reads it properly. The error comes back as a value: a reset is routine.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SocketError> WaitReadableAsync(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled) return await _peek.PeekAsync(_socket).ConfigureAwait(false);
        try
        {
            await _socket.ReceiveAsync(_probe, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    /// <summary>One peek at a time, completed as a ValueTask without allocating or throwing.</summary>
    private sealed class PeekEventArgs : SocketAsyncEventArgs, IValueTaskSource<SocketError>
    {
        private ManualResetValueTaskSourceCore<SocketError> _source;

        public PeekEventArgs(byte[] probe) : base(unsafeSuppressExecutionContextFlow: true)
        {
            SetBuffer(probe);
            SocketFlags = SocketFlags.Peek;
        }

        public ValueTask<SocketError> PeekAsync(Socket socket)
        {
            _source.Reset();
            if (!socket.ReceiveAsync(this)) _source.SetResult(SocketError);
            return new ValueTask<SocketError>(this, _source.Version);
        }

        protected override void OnCompleted(SocketAsyncEventArgs e) => _source.SetResult(SocketError);

        public SocketError GetResult(short token) => _source.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _source.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _source.OnCompleted(continuation, state, token, flags);
    }
}
