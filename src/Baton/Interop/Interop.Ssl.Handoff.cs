using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>What the front needs to capture a session and export it to a worker (see DESIGN.md, handoff recipe).</summary>
    internal static partial class Ssl
    {
        // ssl3.h: pseudo content types the msg callback reports besides the real ones.
        internal const int SSL3_RT_CHANGE_CIPHER_SPEC = 20;
        internal const int SSL3_RT_HANDSHAKE = 22;
        internal const int SSL3_RT_HEADER = 0x100;
        internal const int SSL3_RT_HEADER_LENGTH = 5;

        // Handshake message types (ssl3.h / tls1.h).
        internal const byte SSL3_MT_CLIENT_HELLO = 1;
        internal const byte SSL3_MT_FINISHED = 20;
        internal const byte SSL3_MT_KEY_UPDATE = 24;

        /// <summary>SSL_get_key_update_type: no KeyUpdate is pending.</summary>
        internal const int SSL_KEY_UPDATE_NONE = -1;

        /// <summary>cb(const SSL *ssl, const char *line).</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_keylog_callback")]
        internal static partial void SslCtxSetKeylogCallback(SafeSslContextHandle ctx, nint callback);

        /// <summary>
        /// cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg).
        /// SSL_new copies it into each SSL: install it before the first connection.
        /// </summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_msg_callback")]
        internal static partial void SslCtxSetMsgCallback(SafeSslContextHandle ctx, nint callback);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_key_update_type")]
        internal static partial int SslGetKeyUpdateType(SafeSslHandle ssl);

        /// <summary>Borrowed pointer (no reference taken): valid while the SSL lives and the lock is held.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_session")]
        internal static partial nint SslGetSession(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_SESSION_get_master_key")]
        internal static unsafe partial nuint SslSessionGetMasterKey(nint session, byte* output, nuint length);

        /// <summary>0 when none was negotiated, else 1..4 (512..4096 bytes).</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_SESSION_get_max_fragment_length")]
        internal static partial byte SslSessionGetMaxFragmentLength(nint session);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_client_random")]
        internal static unsafe partial nuint SslGetClientRandom(SafeSslHandle ssl, byte* output, nuint length);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_server_random")]
        internal static unsafe partial nuint SslGetServerRandom(SafeSslHandle ssl, byte* output, nuint length);

        /// <summary>Raw-pointer variant for the msg callback, which only has the SSL*.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_version")]
        internal static partial int SslVersionRaw(nint ssl);
    }

    internal static partial class Crypto
    {
        /// <summary>Total bytes ever read out of the BIO (BIO_read/BIO_gets); for the read BIO: what OpenSSL consumed.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_number_read")]
        internal static partial ulong BioNumberRead(SafeBioHandle bio);

        /// <summary>Total bytes ever written into the BIO; for the write BIO: every record byte OpenSSL produced.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_number_written")]
        internal static partial ulong BioNumberWritten(SafeBioHandle bio);
    }
}
