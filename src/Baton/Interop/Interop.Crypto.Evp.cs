using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        // evp.h: the AEAD controls are plain numbers, not functions.
        internal const int EVP_CTRL_AEAD_SET_IVLEN = 0x9;
        internal const int EVP_CTRL_AEAD_GET_TAG = 0x10;
        internal const int EVP_CTRL_AEAD_SET_TAG = 0x11;

        /// <summary>EVP_CipherInit_ex's "enc" argument.</summary>
        internal const int EVP_DECRYPT = 0;
        internal const int EVP_ENCRYPT = 1;

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CIPHER_CTX_new")]
        internal static partial SafeEvpCipherCtxHandle EvpCipherCtxNew();

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CIPHER_CTX_free")]
        internal static partial void EvpCipherCtxFree(nint ctx);

        // The EVP_CIPHER objects returned by these are static and never freed.
        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_aes_128_gcm")]
        internal static partial nint EvpAes128Gcm();

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_aes_256_gcm")]
        internal static partial nint EvpAes256Gcm();

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_chacha20_poly1305")]
        internal static partial nint EvpChaCha20Poly1305();

        /// <summary>
        /// cipher/key/iv may each be null to keep the context's current value: the record layer sets the
        /// key once per epoch and then only the nonce per record, which skips the AES key expansion.
        /// </summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CipherInit_ex")]
        internal static unsafe partial int EvpCipherInitEx(SafeEvpCipherCtxHandle ctx, nint cipher, nint engine, byte* key, byte* iv, int enc);

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CIPHER_CTX_ctrl")]
        internal static unsafe partial int EvpCipherCtxCtrl(SafeEvpCipherCtxHandle ctx, int type, int arg, void* ptr);

        /// <summary>With output == null the input is additional authenticated data.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_CipherUpdate")]
        internal static unsafe partial int EvpCipherUpdate(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength, byte* input, int inputLength);

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_EncryptFinal_ex")]
        internal static unsafe partial int EvpEncryptFinalEx(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength);

        /// <summary>Returns 1 only when the tag set with EVP_CTRL_AEAD_SET_TAG verified.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_DecryptFinal_ex")]
        internal static unsafe partial int EvpDecryptFinalEx(SafeEvpCipherCtxHandle ctx, byte* output, out int outputLength);
    }
}
