using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>Session-ticket key management: the ticket key callback and the libcrypto calls it makes.</summary>
    internal static partial class Ssl
    {
        // Return values of the ticket key callback (ssl/t1_lib.c, tls_decrypt_ticket).
        internal const int TicketKeyNotFound = 0;
        internal const int TicketKeyOk = 1;
        internal const int TicketKeyOkRenew = 2;
        internal const int TicketKeyError = -1;

        internal const int TLSEXT_KEYNAME_LENGTH = 16;

        /// <summary>crypto.h: the ex_data class of SSL_CTX (SSL_CTX_get_ex_new_index is a macro over CRYPTO_get_ex_new_index).</summary>
        internal const int CRYPTO_EX_INDEX_SSL_CTX = 1;

        /// <summary>cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc).</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_tlsext_ticket_key_evp_cb")]
        internal static partial int SslCtxSetTicketKeyEvpCallback(SafeSslContextHandle ctx, nint callback);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_SSL_CTX")]
        internal static partial nint SslGetSslCtx(nint ssl);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_set_ex_data")]
        internal static partial int SslCtxSetExData(SafeSslContextHandle ctx, int index, nint data);

        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CTX_get_ex_data")]
        internal static partial nint SslCtxGetExData(nint ctx, int index);
    }

    internal static partial class Crypto
    {
        internal const uint OSSL_PARAM_UTF8_STRING = 4;
        internal const uint OSSL_PARAM_OCTET_STRING = 5;

        /// <summary>
        /// free_func(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) runs when the owning
        /// object is freed, which ties managed state to the native object's lifetime.
        /// </summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "CRYPTO_get_ex_new_index")]
        internal static partial int CryptoGetExNewIndex(int classIndex, nint argl, nint argp, nint newFunc, nint dupFunc, nint freeFunc);

        [LibraryImport(Libraries.Crypto, EntryPoint = "RAND_bytes")]
        internal static unsafe partial int RandBytes(byte* buffer, int count);

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_aes_256_cbc")]
        internal static partial nint EvpAes256Cbc();

        /// <summary>Raw-pointer variant for callbacks that receive an EVP_CIPHER_CTX* they do not own.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CipherInit_ex")]
        internal static unsafe partial int EvpCipherInitExRaw(nint ctx, nint cipher, nint engine, byte* key, byte* iv, int enc);

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_MAC_CTX_set_params")]
        internal static unsafe partial int EvpMacCtxSetParams(nint ctx, OsslParam* parameters);

        // The OSSL_PARAM constructors are functions returning the 40-byte struct by value (hidden return pointer on x86_64).
        [LibraryImport(Libraries.Crypto, EntryPoint = "OSSL_PARAM_construct_utf8_string")]
        internal static unsafe partial OsslParam OsslParamConstructUtf8String(byte* key, byte* buffer, nuint length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OSSL_PARAM_construct_octet_string")]
        internal static unsafe partial OsslParam OsslParamConstructOctetString(byte* key, void* buffer, nuint length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OSSL_PARAM_construct_end")]
        internal static partial OsslParam OsslParamConstructEnd();

        /// <summary>struct ossl_param_st (core.h).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct OsslParam
        {
            public byte* Key;
            public uint DataType;
            public void* Data;
            public nuint DataSize;
            public nuint ReturnSize;
        }
    }
}
