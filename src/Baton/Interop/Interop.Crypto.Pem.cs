using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        private const int ERR_LIB_PEM = 9;
        private const int PEM_R_NO_START_LINE = 108;

        // The password argument is always a pointer to an empty C string: with a NULL callback and NULL argument
        // OpenSSL would prompt on the terminal for an encrypted key, which must never happen in a server.
        [LibraryImport(Libraries.Crypto, EntryPoint = "PEM_read_bio_X509_AUX")]
        internal static partial SafeX509Handle PemReadBioX509Aux(SafeBioHandle bio, nint existing, nint callback, nint password);

        [LibraryImport(Libraries.Crypto, EntryPoint = "PEM_read_bio_X509")]
        internal static partial SafeX509Handle PemReadBioX509(SafeBioHandle bio, nint existing, nint callback, nint password);

        [LibraryImport(Libraries.Crypto, EntryPoint = "PEM_read_bio_PrivateKey")]
        internal static partial SafeEvpPKeyHandle PemReadBioPrivateKey(SafeBioHandle bio, nint existing, nint callback, nint password);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_free")]
        internal static partial void X509Free(nint certificate);

        [LibraryImport(Libraries.Crypto, EntryPoint = "EVP_PKEY_free")]
        internal static partial void EvpPKeyFree(nint key);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_new_null")]
        internal static partial SafeX509StackHandle SkNewNull();

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_push")]
        internal static partial int SkPush(SafeX509StackHandle stack, nint item);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_pop")]
        internal static partial nint SkPop(nint stack);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_free")]
        internal static partial void SkFree(nint stack);

        [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_peek_last_error")]
        private static partial nuint ErrPeekLastError();

        /// <summary>True when the last PEM read failed only because no further PEM block exists (the normal end of a chain).</summary>
        internal static bool LastErrorIsPemNoStartLine()
        {
            nuint error = ErrPeekLastError();
            return (int)((error >> 23) & 0xFF) == ERR_LIB_PEM && (int)(error & 0x7FFFFF) == PEM_R_NO_START_LINE;
        }
    }
}
