using System.Buffers;
using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Writing: records are sealed straight from the data's segments (a pipe's blocks need no gathering) into one
/// batch buffer, sent with one inner write once the next record would not fit (64 KiB: several full records per send).
/// </summary>
internal sealed partial class UserSpaceRecordBackend
{
    private const int WriteBufferSize = 64 * 1024;
    private const int KeyUpdateRecordReserve = 64;

    /// <summary>Rented from BeginWrite to EndWrite, empty in between.</summary>
    private byte[] _batch = [];
    private int _used;

    /// <summary>Room one record needs beyond its plaintext: header, tag, inner type, and a KeyUpdate record that may precede the next one.</summary>
    private int RecordReserve => _writer.Overhead + KeyUpdateRecordReserve;

    /// <summary>
    /// Rents the batch buffer sized to what this write will seal (at most <see cref="WriteBufferSize"/>): an idle
    /// connection holds none. It only ever holds ciphertext, which is why it goes back to the pool without being cleared.
    /// </summary>
    public override void BeginWrite(long plaintextLength)
    {
        long records = plaintextLength / _state.MaxPlaintext + 1;
        _batch = ArrayPool<byte>.Shared.Rent((int)Math.Min(WriteBufferSize, plaintextLength + (records + 1) * RecordReserve));
        _used = 0;
    }

    /// <summary>One record's worth: each chunk becomes one record.</summary>
    public override int NextChunk(in ReadOnlySequence<byte> data) => (int)Math.Min(data.Length, _state.MaxPlaintext);

    public override ValueTask WriteDataAsync(ReadOnlySequence<byte> chunk, CancellationToken cancellationToken)
    {
        if (_used > 0 && _used + chunk.Length + RecordReserve > _batch.Length) return SendThenSealAsync(chunk, cancellationToken);
        SealData(chunk);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> WriteControlAsync(
        TlsContentType type, ReadOnlyMemory<byte> content, bool bestEffort, CancellationToken cancellationToken)
    {
        if (_used > 0 && _used + content.Length + _writer.Overhead > _batch.Length) return SendThenSealAsync(type, content, cancellationToken);
        SealControl(type, content.Span);
        return ValueTask.FromResult(true);
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken) =>
        _used > 0 ? SendBatchAsync(cancellationToken) : ValueTask.CompletedTask;

    public override void EndWrite()
    {
        byte[] batch = _batch;
        _batch = [];
        _used = 0;
        if (batch.Length > 0) ArrayPool<byte>.Shared.Return(batch);
    }

    public override string? InstallWriteKey()
    {
        _writer.Rekey(_state.WriteKey, _state.WriteIv);
        return null;
    }

    private void SealData(in ReadOnlySequence<byte> chunk)
    {
        _used += _writer.Seal(TlsContentType.ApplicationData, chunk, _batch.AsSpan(_used));
        _state.WriteSequence = _writer.Sequence;
    }

    private void SealControl(TlsContentType type, ReadOnlySpan<byte> content)
    {
        _used += _writer.Seal(type, content, _batch.AsSpan(_used));
        _state.WriteSequence = _writer.Sequence;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendThenSealAsync(ReadOnlySequence<byte> chunk, CancellationToken cancellationToken)
    {
        await SendBatchAsync(cancellationToken).ConfigureAwait(false);
        SealData(chunk);
    }

    private async ValueTask<bool> SendThenSealAsync(TlsContentType type, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await SendBatchAsync(cancellationToken).ConfigureAwait(false);
        SealControl(type, content.Span);
        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendBatchAsync(CancellationToken cancellationToken)
    {
        await _inner.WriteAsync(_batch.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _used = 0;
    }
}
