namespace Baton.Tls;

/// <summary>
/// Hooks for the front's handoff code, which runs the handshake and the first read here, then exports the session.
/// Handoff is single-threaded (no concurrent reader/writer), but any SSL_* call made from outside must still be
/// made under <see cref="SslLock"/>.
/// </summary>
internal sealed partial class OpenSslStream
{
    /// <summary>The lock every SSL_* and BIO_* call on this connection is made under.</summary>
    internal Lock SslLock => _sslLock;

    /// <summary>The SSL; it owns both BIOs. Disposing the stream frees it without writing anything.</summary>
    internal SafeSslHandle SslHandle => _ssl;

    /// <summary>Raw bytes received from the peer that OpenSSL has not consumed yet live here.</summary>
    internal SafeBioHandle ReadBio => _ssl.ReadBio;

    internal SafeBioHandle WriteBio => _ssl.WriteBio;

    /// <summary>Raw peer bytes received but not yet consumed by OpenSSL (BIO_ctrl_pending on the read BIO).</summary>
    internal int UnprocessedInputLength
    {
        get
        {
            lock (_sslLock)
            {
                ThrowIfDisposedLocked();
                return checked((int)Interop.Crypto.BioCtrlPending(_ssl.ReadBio));
            }
        }
    }

    /// <summary>Decrypted plaintext OpenSSL holds that no read returned yet (SSL_pending); must be 0 to hand off.</summary>
    internal int PendingPlaintextLength
    {
        get
        {
            lock (_sslLock)
            {
                ThrowIfDisposedLocked();
                return Interop.Ssl.SslPending(_ssl);
            }
        }
    }

    /// <summary>
    /// Removes the raw bytes still waiting in the read BIO and returns them, so they can travel to the worker with
    /// the socket. With read-ahead off, OpenSSL reads one record at a time from the BIO: after a ReadAsync that
    /// returned a whole record (pass a buffer of at least 16 KiB), everything after that record is still here.
    /// </summary>
    internal unsafe byte[] TakeUnprocessedInput()
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            int length = checked((int)Interop.Crypto.BioCtrlPending(_ssl.ReadBio));
            if (length == 0) return [];
            byte[] bytes = new byte[length];
            fixed (byte* destination = bytes)
            {
                if (Interop.Crypto.BioRead(_ssl.ReadBio, destination, length) != length)
                {
                    throw Interop.Crypto.CreateOpenSslException("BIO_read (unprocessed input)");
                }
            }
            return bytes;
        }
    }

    /// <summary>
    /// Puts back what <see cref="TakeUnprocessedInput"/> took, when no worker took the session after all and the front
    /// reads on itself. Nothing can have been added since (the front reads nothing after the export), so the bytes go
    /// back in their place, ahead of whatever is still to arrive on the socket.
    /// </summary>
    internal unsafe void RestoreUnprocessedInput(byte[] bytes)
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            if (Interop.Crypto.BioCtrlPending(_ssl.ReadBio) != 0)
                throw new InvalidOperationException("the read BIO holds input that arrived after the export");
            if (bytes.Length == 0) return;
            fixed (byte* source = bytes)
            {
                if (Interop.Crypto.BioWrite(_ssl.ReadBio, source, bytes.Length) != bytes.Length)
                    throw Interop.Crypto.CreateOpenSslException("BIO_write (restored input)");
            }
        }
    }
}
