using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Writing: the kernel seals. Every record, data included, goes out with our own non-blocking sendmsg rather than
/// .NET's SendAsync, which may split one call into several sendmsg calls unseen: each of them ends a record, and the
/// record count the usage limits depend on would no longer be an upper bound. When the socket buffer is full the
/// write waits for writability on a shared poller.
/// </summary>
internal sealed partial class KernelRecordBackend
{
    // Large writes go out in slices so that the usage limits are checked between them.
    private const int SendSlice = 256 * 1024;

    /// <summary>Segments shorter than a record, gathered into one; rented while a write needs it.</summary>
    private byte[] _gather = [];
    private int _gathered;

    public override void BeginWrite(long plaintextLength)
    {
    }

    /// <summary>
    /// Each sendmsg ends its last record, so segments shorter than a record are gathered into a whole one (a 1 MiB
    /// response in 4 KiB segments is 64 records, not 256); longer ones go out as they lie.
    /// </summary>
    public override int NextChunk(in ReadOnlySequence<byte> data)
    {
        ReadOnlyMemory<byte> first = data.First;
        if (data.IsSingleSegment || first.Length >= TlsRecordLimits.MaxPlaintext) return Math.Min(first.Length, SendSlice);
        return (int)Math.Min(data.Length, TlsRecordLimits.MaxPlaintext);
    }

    public override ValueTask WriteDataAsync(ReadOnlySequence<byte> chunk, CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> data = chunk.IsSingleSegment ? chunk.First : Gather(chunk);
        return TrySend(TlsContentType.ApplicationData, ref data)
            ? ValueTask.CompletedTask
            : SendRestAsync(TlsContentType.ApplicationData, data, cancellationToken);
    }

    public override ValueTask<bool> WriteControlAsync(
        TlsContentType type, ReadOnlyMemory<byte> content, bool bestEffort, CancellationToken cancellationToken)
    {
        if (TrySend(type, ref content)) return ValueTask.FromResult(true);
        return bestEffort ? ValueTask.FromResult(false) : SendControlRestAsync(type, content, cancellationToken);
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override void EndWrite()
    {
        byte[] gather = _gather;
        if (gather.Length == 0) return;
        _gather = [];
        // It held plaintext: cleared, as far as it was used, before it goes back to the pool.
        Array.Clear(gather, 0, _gathered);
        _gathered = 0;
        ArrayPool<byte>.Shared.Return(gather);
    }

    private ReadOnlyMemory<byte> Gather(in ReadOnlySequence<byte> chunk)
    {
        if (_gather.Length == 0) _gather = ArrayPool<byte>.Shared.Rent(TlsRecordLimits.MaxPlaintext);
        int length = (int)chunk.Length;
        chunk.CopyTo(_gather);
        _gathered = Math.Max(_gathered, length);
        return _gather.AsMemory(0, length);
    }

    /// <summary>Sends as much as the socket takes now, counting the records; true when all of it went out.</summary>
    private bool TrySend(TlsContentType type, ref ReadOnlyMemory<byte> content)
    {
        while (true)
        {
            nint sent = Interop.Libc.SendTlsRecord(
                _socket.SafeHandle, (byte)type, content.Span, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL, out int errno);
            if (sent <= 0)
            {
                if (sent == 0 || errno == Interop.EAGAIN) return false;
                throw SendFailure(errno);
            }
            _state.WriteSequence += (ulong)((sent + TlsRecordLimits.MaxPlaintext - 1) / TlsRecordLimits.MaxPlaintext);
            // The rest of a control record would go out as a record of its own.
            if (type != TlsContentType.ApplicationData && sent != content.Length)
                throw new IOException($"the kernel took {sent} of the {content.Length} bytes of a TLS control record");
            content = content[(int)sent..];
            if (content.IsEmpty) return true;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendRestAsync(TlsContentType type, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        do
        {
            await s_writablePoller.Value.WaitAsync(_socket.SafeHandle, writable: true, cancellationToken).ConfigureAwait(false);
        }
        while (!TrySend(type, ref content));
    }

    private async ValueTask<bool> SendControlRestAsync(TlsContentType type, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await SendRestAsync(type, content, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>A reset or a closed peer as .NET reports them (the transport looks for the SocketException), anything else with its errno.</summary>
    private static IOException SendFailure(int errno)
    {
        SocketError? error = errno switch
        {
            Interop.Libc.ECONNRESET => SocketError.ConnectionReset,
            Interop.Libc.EPIPE => SocketError.Shutdown,
            _ => null,
        };
        if (error is not { } known) return ErrnoIOException("sendmsg", errno);
        var inner = new SocketException((int)known);
        return new IOException(inner.Message, inner);
    }
}
