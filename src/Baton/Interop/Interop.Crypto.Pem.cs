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

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_num")]
        internal static partial int SkNum(SafeX509StackHandle stack);

        /// <summary>The stack's element at <paramref name="index"/>, borrowed: the stack still owns it.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_value")]
        internal static partial nint SkValue(SafeX509StackHandle stack, int index);

        /// <summary>1 when the key is the private half of the certificate's public key.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_check_private_key")]
        internal static partial int X509CheckPrivateKey(SafeX509Handle certificate, SafeEvpPKeyHandle key);

        /// <summary>X509_V_OK (0) when <paramref name="issuer"/> issued <paramref name="subject"/> (names, key identifiers, key usage).</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_check_issued")]
        internal static partial int X509CheckIssued(nint issuer, nint subject);

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
