namespace Baton.Tls.Records;

/// <summary>
/// Handback: the session leaves this stream at a quiescent point, for another process to continue it. Nothing is
/// written to the peer (no close_notify, no alert) and the socket is neither shut down nor closed by the detach:
/// disposing a detached stream only releases its buffers (and closes the inner stream unless told to leave it open),
/// so the caller decides when its descriptor goes — after the front has taken the connection.
/// </summary>
internal sealed partial class TlsRecordStream
{
    private volatile bool _detached;

    /// <summary>The session left this stream (<see cref="Detach"/>): nothing more is read or written here.</summary>
    public bool Detached => _detached;

    /// <summary>
    /// Takes the session off this stream. Legal only when no read and no write is in progress, the session is still
    /// open both ways, and no post-handshake message (a KeyUpdate) is half-read. Throws InvalidOperationException
    /// otherwise (the stream is then untouched and goes on working). The caller owns the result.
    /// </summary>
    public DetachedSession Detach()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Interlocked.Exchange(ref _readInProgress, 1) != 0) throw new InvalidOperationException("a read is in progress");
        try
        {
            if (!_writeLock.Wait(0)) throw new InvalidOperationException("a write is in progress");
            try
            {
                if (DetachProblem() is string problem) throw new InvalidOperationException(problem);
                byte[] ciphertext = _backend.TakeUnreadCiphertext() ?? throw new InvalidOperationException(_backend.DetachRefusal!);
                byte[] plaintext = [.. _initialPlaintext.Span, .. _plaintext.Span];
                _initialPlaintext = _plaintext = default;
                // An answer to the peer's KeyUpdate that could not go out yet is owed by whoever continues.
                _state.KeyUpdatePending = _protocol.KeyUpdateOwed;
                _protocol.CloseWrite();
                _detached = true;
                return new DetachedSession(_state, plaintext, ciphertext);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    private string? DetachProblem()
    {
        if (_detached) return "the session was already detached";
        if (_protocol.PeerClosed) return "the peer closed the session";
        if (_protocol.ReadFailure is not null) return "the session failed";
        if (_protocol.WriteClosed) return "the session is closed for writing";
        return _protocol.InHandshakeMessage ? "a KeyUpdate is half-read" : null;
    }
}
