using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Baton.Tls;

/// <summary>The SSL_CTX callbacks. They run inside SSL_do_handshake and must never let an exception escape.</summary>
internal static unsafe class TlsContextCallbacks
{
    /// <summary>
    /// Servername callback: installs the certificate matching SNI on this SSL (SSL_use_cert_and_key) rather than
    /// switching to a per-certificate SSL_CTX. One SSL_CTX then holds every setting and every callback the handoff
    /// code installs (keylog, msg, tickets, ALPN): after SSL_set_SSL_CTX OpenSSL reads some of them from the new
    /// context and some from the old one. Cipher selection runs after this callback, so an RSA certificate gets
    /// ECDHE-RSA suites in TLS 1.2.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static int SelectCertificate(nint ssl, int* alert, nint arg)
    {
        try
        {
            var state = (TlsContextState)GCHandle.FromIntPtr(arg).Target!;
            byte* name = (byte*)Interop.Ssl.SslGetServerName(ssl, Interop.Ssl.TLSEXT_NAMETYPE_host_name);
            if (name == null) return Interop.Ssl.SSL_TLSEXT_ERR_OK;
            LoadedCertificate? match = state.Selector.Find(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name));
            if (match is null || match == state.DefaultCertificate) return Interop.Ssl.SSL_TLSEXT_ERR_OK;
            // The SSL starts with the default certificate in its slot for that key type; a certificate of another key type
            // would go into another slot and OpenSSL could still pick the default's, so empty all slots first.
            Interop.Ssl.SslCertsClear(ssl);
            int installed = Interop.Ssl.SslUseCertAndKey(
                ssl, match.Certificate.DangerousGetHandle(), match.Key.DangerousGetHandle(), match.Chain.DangerousGetHandle(), 1);
            if (installed == 1) return Interop.Ssl.SSL_TLSEXT_ERR_OK;
            // The error stays queued so the handshake failure names it.
            *alert = Interop.Ssl.SSL_AD_INTERNAL_ERROR;
            return Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        catch
        {
            *alert = Interop.Ssl.SSL_AD_INTERNAL_ERROR;
            return Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }

    /// <summary>
    /// Status callback (server side: the client sent status_request): staples the current OCSP response of the certificate
    /// this SSL presents, in memory from OPENSSL_malloc that libssl then owns. No response, or any failure: no staple, and
    /// the handshake goes on (NOACK), as a server without one would answer.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static int StapleOcspResponse(nint ssl, nint arg)
    {
        try
        {
            var state = (TlsContextState)GCHandle.FromIntPtr(arg).Target!;
            if (!state.Staples.TryGetValue(Interop.Ssl.SslGetCertificate(ssl), out OcspStaple? staple) || staple.Current() is not byte[] response)
                return Interop.Ssl.SSL_TLSEXT_ERR_NOACK;
            nint copy = Interop.Crypto.CryptoMalloc((nuint)response.Length, 0, 0);
            if (copy == 0) return Interop.Ssl.SSL_TLSEXT_ERR_NOACK;
            response.CopyTo(new Span<byte>((void*)copy, response.Length));
            if (Interop.Ssl.SslCtrl(ssl, Interop.Ssl.SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, response.Length, copy) == 1)
                return Interop.Ssl.SSL_TLSEXT_ERR_OK;
            Interop.Crypto.CryptoFree(copy, 0, 0);
            return Interop.Ssl.SSL_TLSEXT_ERR_NOACK;
        }
        catch
        {
            return Interop.Ssl.SSL_TLSEXT_ERR_NOACK;
        }
    }

    /// <summary>
    /// ALPN select callback, called only when the client sent ALPN: the first server protocol the client also offers.
    /// None in common is a fatal no_application_protocol alert (RFC 7301 3.2; OpenSSL sends that alert for any fatal
    /// answer here), not a connection without ALPN that neither side can speak on.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static int SelectApplicationProtocol(nint ssl, byte** output, byte* outputLength, byte* input, uint inputLength, nint arg)
    {
        try
        {
            var state = (TlsContextState)GCHandle.FromIntPtr(arg).Target!;
            int result = Interop.Ssl.SslSelectNextProto(output, outputLength, state.AlpnWire, state.AlpnWireLength, input, inputLength);
            return result == Interop.Ssl.OPENSSL_NPN_NEGOTIATED ? Interop.Ssl.SSL_TLSEXT_ERR_OK : Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        catch
        {
            return Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }

    /// <summary>
    /// ClientHello callback of a per-connection context: libssl has read the whole hello and acts on none of its
    /// extensions yet, so the connection's selector still decides the ALPN list the handshake offers. A refusal ends the
    /// handshake with the selector's alert.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static int SelectForConnection(nint ssl, int* alert, nint arg)
    {
        try
        {
            if (ClientHelloSelection.From(ssl) is not ClientHelloSelection selection) return Interop.Ssl.SSL_CLIENT_HELLO_SUCCESS;
            if (selection.Select(ssl, out byte refusal)) return Interop.Ssl.SSL_CLIENT_HELLO_SUCCESS;
            *alert = refusal;
            return Interop.Ssl.SSL_CLIENT_HELLO_ERROR;
        }
        catch
        {
            *alert = Interop.Ssl.SSL_AD_INTERNAL_ERROR;
            return Interop.Ssl.SSL_CLIENT_HELLO_ERROR;
        }
    }

    /// <summary>ALPN select callback of a per-connection context: as <see cref="SelectApplicationProtocol"/>, with the list the selector chose.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    internal static int SelectConnectionApplicationProtocol(nint ssl, byte** output, byte* outputLength, byte* input, uint inputLength, nint arg)
    {
        try
        {
            if (ClientHelloSelection.From(ssl) is not { AlpnWireLength: > 0 } selection) return Interop.Ssl.SSL_TLSEXT_ERR_NOACK;
            int result = Interop.Ssl.SslSelectNextProto(output, outputLength, selection.AlpnWire, selection.AlpnWireLength, input, inputLength);
            return result == Interop.Ssl.OPENSSL_NPN_NEGOTIATED ? Interop.Ssl.SSL_TLSEXT_ERR_OK : Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        catch
        {
            return Interop.Ssl.SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }
}
