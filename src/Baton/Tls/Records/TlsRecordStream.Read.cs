using System.Runtime.CompilerServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class TlsRecordStream
{
    private ReadOnlyMemory<byte> _initialPlaintext;
    /// <summary>What is left of the last data record the backend opened in its own buffer.</summary>
    private ReadOnlyMemory<byte> _plaintext;
    private int _readInProgress;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_detached) throw new InvalidOperationException("the session was detached from this stream");
        if (Interlocked.Exchange(ref _readInProgress, 1) != 0) throw new InvalidOperationException("only one read at a time");
        try
        {
            while (true)
            {
                int copied = CopyPlaintext(buffer.Span);
                if (copied > 0 || _protocol.PeerClosed) return copied;
                // A zero-byte read (Kestrel's way to wait for data without a buffer) completes once plaintext is ready.
                if (buffer.IsEmpty && !(_initialPlaintext.IsEmpty && _plaintext.IsEmpty)) return 0;
                if (_protocol.ReadFailure is { } failure) throw failure;
                ReceivedRecord received = await _backend.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                // Disposed while waiting (a connection abort): the buffers and keys are gone.
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                switch (received.Outcome)
                {
                    case ReceiveOutcome.Ended:
                    case ReceiveOutcome.Ready:
                        return 0;
                    case ReceiveOutcome.Refused:
                        _protocol.Fail(received.Alert, received.Reason!);
                        throw await SendFailureAlertAsync().ConfigureAwait(false);
                }
                RecordAction action = _protocol.OnRecord(received.Type, received.Content.Span);
                if (action != RecordAction.Data)
                    await ActAsync(action, cancellationToken).ConfigureAwait(false);
                else if (received.InDestination)
                    return received.Content.Length;
                else
                    _plaintext = received.Content;
            }
        }
        finally
        {
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    private int CopyPlaintext(Span<byte> destination) =>
        !_initialPlaintext.IsEmpty ? Take(ref _initialPlaintext, destination) : Take(ref _plaintext, destination);

    private static int Take(ref ReadOnlyMemory<byte> source, Span<byte> destination)
    {
        int n = Math.Min(destination.Length, source.Length);
        source.Span[..n].CopyTo(destination);
        source = source[n..];
        return n;
    }

    /// <summary>What a record without data asks for; PeerClosed and Nothing need nothing here (the read loop sees the protocol's state).</summary>
    private async Task ActAsync(RecordAction action, CancellationToken cancellationToken)
    {
        switch (action)
        {
            case RecordAction.FollowKeyUpdate:
            case RecordAction.FollowAndAnswerKeyUpdate:
                if (_backend.InstallReadKey() is string refused)
                {
                    _protocol.Fail(TlsAlertDescription.InternalError, $"the next read key was refused: {refused}");
                    throw await SendFailureAlertAsync().ConfigureAwait(false);
                }
                if (action == RecordAction.FollowAndAnswerKeyUpdate) await AnswerKeyUpdateAsync(cancellationToken).ConfigureAwait(false);
                break;
            case RecordAction.RefuseRenegotiation:
                await SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.NoRenegotiation, cancellationToken).ConfigureAwait(false);
                break;
            case RecordAction.Fail:
                throw await SendFailureAlertAsync().ConfigureAwait(false);
            case RecordAction.PeerFatalAlert:
                throw _protocol.ReadFailure!;
        }
    }

    /// <summary>Sends the fatal alert of the protocol's read failure (best effort) and returns the failure to throw.</summary>
    private async Task<TlsAlertException> SendFailureAlertAsync()
    {
        TlsAlertException failure = _protocol.ReadFailure!;
        try
        {
            await SendAlertAsync(TlsAlertLevel.Fatal, failure.Description, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The peer may already be gone; the read fails either way.
        }
        return failure;
    }
}
