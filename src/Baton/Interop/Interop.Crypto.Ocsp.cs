using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>Reading an OCSP response to decide whether to staple it (ocsp.h; functions, not the macros).</summary>
    internal static partial class Crypto
    {
        internal const int OCSP_RESPONSE_STATUS_SUCCESSFUL = 0;
        internal const int V_OCSP_CERTSTATUS_GOOD = 0;
        internal const int V_OCSP_CERTSTATUS_REVOKED = 1;

        [LibraryImport(Libraries.Crypto, EntryPoint = "d2i_OCSP_RESPONSE")]
        internal static unsafe partial nint D2iOcspResponse(nint existing, byte** input, nint length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_RESPONSE_free")]
        internal static partial void OcspResponseFree(nint response);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_response_status")]
        internal static partial int OcspResponseStatus(nint response);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_response_get1_basic")]
        internal static partial nint OcspResponseGet1Basic(nint response);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_BASICRESP_free")]
        internal static partial void OcspBasicRespFree(nint basic);

        /// <summary>With a null digest: SHA-1, what responders index by.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_cert_to_id")]
        internal static partial nint OcspCertToId(nint digest, SafeX509Handle subject, nint issuer);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_CERTID_free")]
        internal static partial void OcspCertIdFree(nint id);

        /// <summary>1 when the response has a status for <paramref name="id"/>; the times are borrowed from the response.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_resp_find_status")]
        internal static partial int OcspRespFindStatus(
            nint basic, nint id, out int status, out int reason, out nint revocationTime, out nint thisUpdate, out nint nextUpdate);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OCSP_check_validity")]
        internal static partial int OcspCheckValidity(nint thisUpdate, nint nextUpdate, nint skewSeconds, nint maxAgeSeconds);

        /// <summary>The time from <paramref name="from"/> (0: now) to <paramref name="to"/>, in days and seconds.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "ASN1_TIME_diff")]
        internal static partial int Asn1TimeDiff(out int days, out int seconds, nint from, nint to);

        /// <summary>OPENSSL_malloc: memory libssl may free (SSL_set_tlsext_status_ocsp_resp takes it over).</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "CRYPTO_malloc")]
        internal static partial nint CryptoMalloc(nuint size, nint file, int line);

        [LibraryImport(Libraries.Crypto, EntryPoint = "CRYPTO_free")]
        internal static partial void CryptoFree(nint pointer, nint file, int line);
    }

    internal static partial class Ssl
    {
        internal const int SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB = 63;
        internal const int SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB_ARG = 64;
        internal const int SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP = 71;

        /// <summary>The certificate this SSL presents (after SNI picked one), borrowed.</summary>
        [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_certificate")]
        internal static partial nint SslGetCertificate(nint ssl);
    }
}
