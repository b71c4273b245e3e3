using Baton.Channel;

namespace Baton.Tls;

/// <summary>Why a handshake that asked for a client certificate refused it: a stable reason code and OpenSSL's words.</summary>
internal sealed record ClientCertificateRefusal(string Reason, string Detail)
{
    /// <summary>Required, and the client sent none (TLS 1.3: the certificate_required alert).</summary>
    public const string Missing = "client_certificate_missing";

    /// <summary>It does not chain to a trusted CA (unknown_ca).</summary>
    public const string Untrusted = "client_certificate_untrusted";

    /// <summary>It chains, but verification failed otherwise: expired, revoked, no CRL, too deep, a bad signature, ...</summary>
    public const string Invalid = "client_certificate_invalid";
}

internal sealed partial class OpenSslStream
{
    /// <summary>Set when the handshake failed over the client's certificate; null for every other failure.</summary>
    public ClientCertificateRefusal? ClientCertificateRefusal { get; private set; }

    /// <summary>The verification result OpenSSL kept, or the "peer did not return a certificate" error; null when neither applies.</summary>
    private ClientCertificateRefusal? ClassifyClientCertificateFailure(Interop.OpenSslException failure)
    {
        long verify;
        lock (_sslLock)
        {
            if (_disposed != 0) return null;
            verify = Interop.Ssl.SslGetVerifyResult(_ssl);
        }
        if (verify != Interop.Crypto.X509_V_OK)
        {
            bool untrusted = verify is Interop.Crypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT or Interop.Crypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                or Interop.Crypto.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT or Interop.Crypto.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                or Interop.Crypto.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
            return new ClientCertificateRefusal(
                untrusted ? ClientCertificateRefusal.Untrusted : ClientCertificateRefusal.Invalid, Interop.Crypto.VerifyErrorString(verify));
        }
        nuint code = failure.ErrorCode;
        bool missing = (int)((code >> 23) & 0xFF) == Interop.Ssl.ERR_LIB_SSL && (int)(code & 0x7FFFFF) == Interop.Ssl.SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
        return missing ? new ClientCertificateRefusal(ClientCertificateRefusal.Missing, "a client certificate is required and the client sent none") : null;
    }

    /// <summary>
    /// The client's certificate and the chain it sent (DER), as far as a Connection body can carry them
    /// (<see cref="ClientCertificateChainCodec"/>): the leaf always, then intermediates while they fit. Under the SSL lock.
    /// </summary>
    private unsafe byte[][] ReadClientCertificateChain()
    {
        nint leaf = Interop.Ssl.SslGet0PeerCertificate(_ssl);
        if (leaf == 0) return [];
        var chain = new List<byte[]> { ToDer(leaf) };
        nint sent = Interop.Ssl.SslGetPeerCertChain(_ssl);
        int total = chain[0].Length;
        int count = sent == 0 ? 0 : Interop.Crypto.SkNumRaw(sent);
        for (int i = 0; i < count && chain.Count < ClientCertificateChainCodec.MaxCertificates; i++)
        {
            nint certificate = Interop.Crypto.SkValueRaw(sent, i);
            // Some stacks repeat the leaf first: it is already there.
            if (certificate == leaf) continue;
            byte[] der = ToDer(certificate);
            if (der.Length > ClientCertificateChainCodec.MaxCertificateLength || total + der.Length > ClientCertificateChainCodec.MaxChainLength) break;
            chain.Add(der);
            total += der.Length;
        }
        return [.. chain];
    }

    private static unsafe byte[] ToDer(nint certificate)
    {
        int length = Interop.Crypto.I2dX509(certificate, null);
        if (length <= 0) throw Interop.Crypto.CreateOpenSslException("i2d_X509");
        byte[] der = new byte[length];
        fixed (byte* start = der)
        {
            byte* cursor = start;
            if (Interop.Crypto.I2dX509(certificate, &cursor) != length) throw Interop.Crypto.CreateOpenSslException("i2d_X509");
        }
        return der;
    }
}
