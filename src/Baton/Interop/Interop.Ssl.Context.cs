using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Ssl
    {
        // SSL_CTX_ctrl commands (ssl.h). The SSL_CTX_set_* names for these are macros, so they are bound through the ctrl call.
        internal const int SSL_CTRL_MODE = 33;
        internal const int SSL_CTRL_SET_READ_AHEAD = 41;
        internal const int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
        internal const int SSL_CTRL_SET_TLSEXT_SERVERNAME_CB = 53;
        internal const int SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG = 54;
        internal const int SSL_CTRL_SET_GROUPS_LIST = 92;
        internal const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;

        internal const long SSL_SESS_CACHE_SERVER = 0x0002;
        internal const long SSL_MODE_RELEASE_BUFFERS = 0x0010;

        internal const ulong SSL_OP_NO_COMPRESSION = 1UL << 17;
        internal const ulong SSL_OP_CIPHER_SERVER_PREFERENCE = 1UL << 22;
        internal const ulong SSL_OP_NO_RENEGOTIATION = 1UL << 30;

        internal const int TLS1_2_VERSION = 0x0303;
        internal const int TLS1_3_VERSION = 0x0304;

        // Return values of the servername and ALPN callbacks (tls1.h).
        internal const int SSL_TLSEXT_ERR_OK = 0;
        internal const int SSL_TLSEXT_ERR_ALERT_FATAL = 2;
        internal const int SSL_TLSEXT_ERR_NOACK = 3;
        internal const int OPENSSL_NPN_NEGOTIATED = 1;
        internal const int TLSEXT_NAMETYPE_host_name = 0;
        internal const int SSL_AD_INTERNAL_ERROR = 80;

        [LibraryImport(Libraries.Ssl, EntryPoint = "TLS_server_method")]
        internal static partial nint TlsServerMethod();

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_new")]
        internal static partial SafeSslContextHandle SslCtxNew(nint method);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_free")]
        internal static partial void SslCtxFree(nint ctx);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_ctrl")]
        internal static partial nint SslCtxCtrl(SafeSslContextHandle ctx, int cmd, nint larg, nint parg);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_callback_ctrl")]
        internal static partial nint SslCtxCallbackCtrl(SafeSslContextHandle ctx, int cmd, nint callback);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_options")]
        internal static partial ulong SslCtxSetOptions(SafeSslContextHandle ctx, ulong options);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_cipher_list", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int SslCtxSetCipherList(SafeSslContextHandle ctx, string ciphers);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_ciphersuites", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int SslCtxSetCipherSuites(SafeSslContextHandle ctx, string suites);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_num_tickets")]
        internal static partial int SslCtxSetNumTickets(SafeSslContextHandle ctx, nuint count);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_max_early_data")]
        internal static partial int SslCtxSetMaxEarlyData(SafeSslContextHandle ctx, uint maxEarlyData);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_session_id_context")]
        internal static unsafe partial int SslCtxSetSessionIdContext(SafeSslContextHandle ctx, byte* id, uint length);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_alpn_select_cb")]
        internal static partial void SslCtxSetAlpnSelectCb(SafeSslContextHandle ctx, nint callback, nint arg);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_select_next_proto")]
        internal static unsafe partial int SslSelectNextProto(
            byte** output, byte* outputLength, byte* server, uint serverLength, byte* client, uint clientLength);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_use_cert_and_key")]
        internal static partial int SslCtxUseCertAndKey(
            SafeSslContextHandle ctx, SafeX509Handle certificate, SafeEvpPKeyHandle key, SafeX509StackHandle chain, int replace);
    }
}
