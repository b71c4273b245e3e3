using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Ssl
    {
        internal const int SSL_ERROR_NONE = 0;
        internal const int SSL_ERROR_SSL = 1;
        internal const int SSL_ERROR_WANT_READ = 2;
        internal const int SSL_ERROR_WANT_WRITE = 3;
        internal const int SSL_ERROR_SYSCALL = 5;
        internal const int SSL_ERROR_ZERO_RETURN = 6;

        // SSL_set_shutdown flags (ssl.h).
        internal const int SSL_SENT_SHUTDOWN = 1;
        internal const int SSL_RECEIVED_SHUTDOWN = 2;

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_new")]
        internal static partial SafeSslHandle SslNew(SafeSslContextHandle ctx);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_free")]
        internal static partial void SslFree(nint ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_bio")]
        internal static partial void SslSetBio(SafeSslHandle ssl, SafeBioHandle readBio, SafeBioHandle writeBio);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_accept_state")]
        internal static partial void SslSetAcceptState(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_do_handshake")]
        internal static partial int SslDoHandshake(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_read_ex")]
        internal static unsafe partial int SslReadEx(SafeSslHandle ssl, byte* buffer, nuint count, out nuint read);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_write_ex")]
        internal static unsafe partial int SslWriteEx(SafeSslHandle ssl, byte* buffer, nuint count, out nuint written);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_error")]
        internal static partial int SslGetError(SafeSslHandle ssl, int result);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_shutdown")]
        internal static partial int SslShutdown(SafeSslHandle ssl);

        /// <summary>Sets the shutdown state only: nothing is sent.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_shutdown")]
        internal static partial void SslSetShutdown(SafeSslHandle ssl, int mode);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_pending")]
        internal static partial int SslPending(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_has_pending")]
        internal static partial int SslHasPending(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_version")]
        internal static partial int SslVersion(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_current_cipher")]
        internal static partial nint SslGetCurrentCipher(SafeSslHandle ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CIPHER_get_protocol_id")]
        internal static partial uint SslCipherGetProtocolId(nint cipher);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_servername")]
        internal static partial nint SslGetServerName(nint ssl, int type);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get0_alpn_selected")]
        internal static unsafe partial void SslGet0AlpnSelected(SafeSslHandle ssl, out byte* protocol, out uint length);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_session_reused")]
        internal static partial int SslSessionReused(SafeSslHandle ssl);

        /// <summary>Index 0 is what the SSL_set_app_data macro uses.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_ex_data")]
        internal static partial int SslSetExData(SafeSslHandle ssl, int index, nint data);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_ex_data")]
        internal static partial nint SslGetExData(nint ssl, int index);

        /// <summary>Empties every certificate slot (RSA, ECDSA, ...) of this SSL; it keeps its own copy of the context's.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_certs_clear")]
        internal static partial void SslCertsClear(nint ssl);

        /// <summary>Called from the servername callback with the raw SSL*: no SafeHandle exists on that path.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_use_cert_and_key")]
        internal static partial int SslUseCertAndKey(nint ssl, nint certificate, nint key, nint chain, int replace);
    }
}
