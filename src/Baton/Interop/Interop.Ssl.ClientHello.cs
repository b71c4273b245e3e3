using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Ssl
    {
        // Return values of the ClientHello callback (ssl.h).
        internal const int SSL_CLIENT_HELLO_SUCCESS = 1;
        internal const int SSL_CLIENT_HELLO_ERROR = 0;

        /// <summary>The class index of SSL objects for CRYPTO_get_ex_new_index (crypto.h), as SSL_get_ex_new_index uses it.</summary>
        internal const int CRYPTO_EX_INDEX_SSL = 0;

        /// <summary>The callback runs once libssl has read the whole ClientHello, before it acts on any extension (SNI, ALPN, versions).</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_client_hello_cb")]
        internal static partial void SslCtxSetClientHelloCb(SafeSslContextHandle ctx, nint callback, nint arg);

        /// <summary>Valid only inside the ClientHello callback: the raw body of extension <paramref name="type"/>; 1 when present.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_client_hello_get0_ext")]
        internal static unsafe partial int SslClientHelloGet0Ext(nint ssl, uint type, out byte* data, out nuint length);
    }
}
