using System.Runtime.InteropServices;

namespace Baton.Tls;

/// <summary>
/// The synchronous SSL_* steps. Each runs under the SSL lock, clears the thread-local error queue first and reads
/// it (SSL_get_error, the exception text) on the same thread before the lock is released.
/// </summary>
internal sealed partial class OpenSslStream
{
    private HandshakeStep StepHandshake(out Interop.OpenSslException? failure)
    {
        failure = null;
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            Interop.Crypto.ErrClearError();
            int result = Interop.Ssl.SslDoHandshake(_ssl);
            if (result == 1) return HandshakeStep.Done;
            int error = Interop.Ssl.SslGetError(_ssl, result);
            if (error == Interop.Ssl.SSL_ERROR_WANT_READ) return HandshakeStep.NeedInput;
            failure = Interop.Crypto.CreateOpenSslException($"SSL_do_handshake (SSL_get_error {error})");
            return HandshakeStep.NeedInput;
        }
    }

    private unsafe ReadStep ReadPlaintext(Span<byte> buffer, out int read, out bool mustSend, out Interop.OpenSslException? failure)
    {
        read = 0;
        failure = null;
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            Interop.Crypto.ErrClearError();
            int result;
            nuint count;
            fixed (byte* destination = buffer)
            {
                result = Interop.Ssl.SslReadEx(_ssl, destination, (nuint)buffer.Length, out count);
            }
            int error = result == 1 ? Interop.Ssl.SSL_ERROR_NONE : Interop.Ssl.SslGetError(_ssl, result);
            if (error is not (Interop.Ssl.SSL_ERROR_NONE or Interop.Ssl.SSL_ERROR_WANT_READ or Interop.Ssl.SSL_ERROR_ZERO_RETURN))
            {
                failure = Interop.Crypto.CreateOpenSslException($"SSL_read_ex (SSL_get_error {error})");
            }
            mustSend = Interop.Crypto.BioCtrlPending(_ssl.WriteBio) != 0;
            read = (int)count;
            return error switch
            {
                Interop.Ssl.SSL_ERROR_NONE => ReadStep.Data,
                Interop.Ssl.SSL_ERROR_WANT_READ => ReadStep.NeedInput,
                Interop.Ssl.SSL_ERROR_ZERO_RETURN => ReadStep.Closed,
                _ => ReadStep.Failed,
            };
        }
    }

    private unsafe void Encrypt(ReadOnlySpan<byte> plaintext)
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            Interop.Crypto.ErrClearError();
            int result;
            fixed (byte* source = plaintext)
            {
                result = Interop.Ssl.SslWriteEx(_ssl, source, (nuint)plaintext.Length, out _);
            }
            if (result != 1)
            {
                int error = Interop.Ssl.SslGetError(_ssl, result);
                Interop.OpenSslException failure = Interop.Crypto.CreateOpenSslException($"SSL_write_ex (SSL_get_error {error})");
                throw new IOException($"TLS write failed: {failure.Message}", failure);
            }
        }
    }

    private void SendCloseNotify()
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            Interop.Crypto.ErrClearError();
            // 0 means "sent, peer's close_notify not seen yet", which is all this side needs.
            if (Interop.Ssl.SslShutdown(_ssl) < 0)
            {
                Interop.OpenSslException failure = Interop.Crypto.CreateOpenSslException("SSL_shutdown");
                throw new IOException($"TLS shutdown failed: {failure.Message}", failure);
            }
        }
    }

    /// <summary>Moves what the write BIO holds, as much as fits, into destination; returns the byte count (0 if empty).</summary>
    private unsafe int TakeFromWriteBio(Span<byte> destination)
    {
        if (destination.IsEmpty) return 0;
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            fixed (byte* bytes = destination)
            {
                // An empty memory BIO returns -1 (retry), not an error.
                return Math.Max(0, Interop.Crypto.BioRead(_ssl.WriteBio, bytes, destination.Length));
            }
        }
    }

    /// <summary>Bytes OpenSSL produced that are not sent yet.</summary>
    private int PendingOutput()
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            return (int)Math.Min(int.MaxValue, Interop.Crypto.BioCtrlPending(_ssl.WriteBio));
        }
    }

    private unsafe void PutIntoReadBio(ReadOnlySpan<byte> received)
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            Interop.Crypto.ErrClearError();
            fixed (byte* bytes = received)
            {
                if (Interop.Crypto.BioWrite(_ssl.ReadBio, bytes, received.Length) != received.Length)
                {
                    throw Interop.Crypto.CreateOpenSslException("BIO_write");
                }
            }
        }
    }

    private bool HasBufferedInput()
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            // SSL_has_pending sees only what libssl has taken from the BIO; records that arrived with
            // the handshake may still wait in the read BIO, unseen by it.
            return Interop.Ssl.SslHasPending(_ssl) != 0 || Interop.Crypto.BioCtrlPending(_ssl.ReadBio) != 0;
        }
    }

    private unsafe void CaptureConnectionFacts()
    {
        lock (_sslLock)
        {
            ThrowIfDisposedLocked();
            _protocolVersion = (ushort)Interop.Ssl.SslVersion(_ssl);
            nint cipher = Interop.Ssl.SslGetCurrentCipher(_ssl);
            if (cipher != 0) _cipherSuite = (ushort)Interop.Ssl.SslCipherGetProtocolId(cipher);
            ServerName = Marshal.PtrToStringUTF8(Interop.Ssl.SslGetServerName(_ssl.DangerousGetHandle(), Interop.Ssl.TLSEXT_NAMETYPE_host_name));
            Interop.Ssl.SslGet0AlpnSelected(_ssl, out byte* protocol, out uint length);
            ApplicationProtocol = length == 0 ? null : System.Text.Encoding.ASCII.GetString(protocol, (int)length);
            IsResumed = Interop.Ssl.SslSessionReused(_ssl) == 1;
            ClientCertificateChain = ReadClientCertificateChain();
        }
    }

    private void ThrowIfDisposedLocked() => ObjectDisposedException.ThrowIf(_disposed != 0, this);
}
