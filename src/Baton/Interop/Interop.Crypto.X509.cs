using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>Trust stores, CRLs, names and DER encoding of certificates (x509.h, x509_vfy.h).</summary>
    internal static partial class Crypto
    {
        internal const int X509_V_OK = 0;
        internal const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2;
        internal const int X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18;
        internal const int X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19;
        internal const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
        internal const int X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21;

        internal const ulong X509_V_FLAG_CRL_CHECK = 0x4;
        internal const ulong X509_V_FLAG_CRL_CHECK_ALL = 0x8;

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_STORE_new")]
        internal static partial SafeX509StoreHandle X509StoreNew();

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_STORE_free")]
        internal static partial void X509StoreFree(nint store);

        /// <summary>Adds a reference: the caller keeps its own.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_STORE_add_cert")]
        internal static partial int X509StoreAddCert(SafeX509StoreHandle store, SafeX509Handle certificate);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_STORE_add_crl")]
        internal static partial int X509StoreAddCrl(SafeX509StoreHandle store, SafeX509CrlHandle crl);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_STORE_set_flags")]
        internal static partial int X509StoreSetFlags(SafeX509StoreHandle store, ulong flags);

        [LibraryImport(Libraries.Crypto, EntryPoint = "PEM_read_bio_X509_CRL")]
        internal static partial SafeX509CrlHandle PemReadBioX509Crl(SafeBioHandle bio, nint existing, nint callback, nint password);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_CRL_free")]
        internal static partial void X509CrlFree(nint crl);

        /// <summary>The subject name, borrowed from the certificate.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_get_subject_name")]
        internal static partial nint X509GetSubjectName(SafeX509Handle certificate);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_NAME_dup")]
        internal static partial nint X509NameDup(nint name);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_NAME_free")]
        internal static partial void X509NameFree(nint name);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_push")]
        internal static partial int SkPushName(SafeX509NameStackHandle stack, nint name);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_new_null")]
        internal static partial SafeX509NameStackHandle SkNewNullNames();

        /// <summary>For a borrowed stack (0 counts as empty, as OPENSSL_sk_num answers -1 for it).</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_num")]
        internal static partial int SkNumRaw(nint stack);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OPENSSL_sk_value")]
        internal static partial nint SkValueRaw(nint stack, int index);

        /// <summary>DER length with a null output, else writes and advances *output.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "i2d_X509")]
        internal static unsafe partial int I2dX509(nint certificate, byte** output);

        [LibraryImport(Libraries.Crypto, EntryPoint = "X509_verify_cert_error_string")]
        internal static partial nint X509VerifyCertErrorString(nint error);

        /// <summary>OpenSSL's text for a verification result (SSL_get_verify_result), e.g. "certificate has expired".</summary>
        internal static string VerifyErrorString(long error) =>
            Marshal.PtrToStringUTF8(X509VerifyCertErrorString((nint)error)) ?? $"verify error {error}";
    }
}
