using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>Client certificates: what a server SSL asks for and how it verifies it (ssl.h; the set1/ctrl macros bound as SSL_ctrl).</summary>
    internal static partial class Ssl
    {
        internal const int SSL_VERIFY_NONE = 0x00;
        internal const int SSL_VERIFY_PEER = 0x01;
        internal const int SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

        internal const int SSL_CTRL_SET_VERIFY_CERT_STORE = 106;

        /// <summary>ERR_LIB_SSL's reason when a required client certificate was not sent (sslerr.h).</summary>
        internal const int SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE = 199;
        internal const int ERR_LIB_SSL = 20;

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_ctrl")]
        internal static partial nint SslCtrl(nint ssl, int cmd, nint larg, nint parg);

        /// <summary>No callback: OpenSSL's own verification decides, and its alert (unknown_ca, certificate_expired, ...) is sent.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_verify")]
        internal static partial void SslSetVerify(nint ssl, int mode, nint callback);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_verify_depth")]
        internal static partial void SslSetVerifyDepth(nint ssl, int depth);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_session_id_context")]
        internal static unsafe partial int SslSetSessionIdContext(nint ssl, byte* id, uint length);

        /// <summary>Takes ownership of <paramref name="names"/> (a STACK_OF(X509_NAME)).</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_set_client_CA_list")]
        internal static partial void SslSetClientCaList(nint ssl, nint names);

        /// <summary>A deep copy of a STACK_OF(X509_NAME), for one SSL to own.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_dup_CA_list")]
        internal static partial nint SslDupCaList(SafeX509NameStackHandle names);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_verify_result")]
        internal static partial nint SslGetVerifyResult(SafeSslHandle ssl);

        /// <summary>The client's certificate, borrowed (the SSL or its session owns it); 0 when it sent none.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get0_peer_certificate")]
        internal static partial nint SslGet0PeerCertificate(SafeSslHandle ssl);

        /// <summary>On a server: the chain the client sent after its certificate (the leaf not included), borrowed; may be 0.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_peer_cert_chain")]
        internal static partial nint SslGetPeerCertChain(SafeSslHandle ssl);
    }
}
