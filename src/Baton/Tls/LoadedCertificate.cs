namespace Baton.Tls;

/// <summary>A certificate, its private key and its intermediates, parsed by libcrypto from PEM.</summary>
internal sealed class LoadedCertificate : IDisposable
{
    private LoadedCertificate(SafeX509Handle certificate, SafeEvpPKeyHandle key, SafeX509StackHandle chain)
    {
        Certificate = certificate;
        Key = key;
        Chain = chain;
    }

    internal SafeX509Handle Certificate { get; }

    internal SafeEvpPKeyHandle Key { get; }

    internal SafeX509StackHandle Chain { get; }

    /// <summary>Parses the PEM in place (BIO_new_mem_buf over the pinned bytes), so no copy of the key is made.</summary>
    internal static unsafe LoadedCertificate Load(ReadOnlySpan<byte> chainPem, ReadOnlySpan<byte> keyPem)
    {
        SafeX509Handle? certificate = null;
        SafeX509StackHandle? chain = null;
        SafeEvpPKeyHandle? key = null;
        try
        {
            fixed (byte* chainBytes = chainPem)
            fixed (byte* keyBytes = keyPem)
            fixed (byte* noPassword = "\0"u8)
            {
                using (SafeBioHandle bio = NewReadOnlyBio(chainBytes, chainPem.Length))
                {
                    certificate = ReadLeaf(bio, (nint)noPassword);
                    chain = ReadIntermediates(bio, (nint)noPassword);
                }
                using (SafeBioHandle bio = NewReadOnlyBio(keyBytes, keyPem.Length))
                {
                    key = ReadPrivateKey(bio, (nint)noPassword);
                }
            }
            return new LoadedCertificate(certificate, key, chain);
        }
        catch
        {
            certificate?.Dispose();
            chain?.Dispose();
            key?.Dispose();
            throw;
        }
    }

    /// <summary>True when the private key belongs to the certificate (what SSL_CTX_use_cert_and_key would refuse otherwise).</summary>
    internal bool KeyMatchesCertificate()
    {
        Interop.Crypto.ErrClearError();
        bool matches = Interop.Crypto.X509CheckPrivateKey(Certificate, Key) == 1;
        // A mismatch leaves its reason queued, where the next OpenSSL call on this thread would find it.
        Interop.Crypto.ErrClearError();
        return matches;
    }

    /// <summary>
    /// The position in the file (1 is the leaf) of the first certificate that the one after it did not issue, or
    /// null when every intermediate issued the certificate before it, as clients need them to.
    /// </summary>
    internal int? FirstCertificateNotIssuedByTheNext()
    {
        bool added = false;
        try
        {
            Certificate.DangerousAddRef(ref added);
            nint subject = Certificate.DangerousGetHandle();
            int count = Interop.Crypto.SkNum(Chain);
            for (int i = 0; i < count; i++)
            {
                nint issuer = Interop.Crypto.SkValue(Chain, i);
                if (Interop.Crypto.X509CheckIssued(issuer, subject) != 0)
                    return i + 1;
                subject = issuer;
            }
            return null;
        }
        finally
        {
            if (added) Certificate.DangerousRelease();
        }
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Key.Dispose();
        Chain.Dispose();
    }

    internal static unsafe SafeBioHandle NewReadOnlyBio(byte* bytes, int length)
    {
        Interop.Crypto.ErrClearError();
        SafeBioHandle bio = Interop.Crypto.BioNewMemBuf(bytes, length);
        if (bio.IsInvalid)
        {
            bio.Dispose();
            throw Interop.Crypto.CreateOpenSslException("BIO_new_mem_buf");
        }
        return bio;
    }

    private static SafeX509Handle ReadLeaf(SafeBioHandle bio, nint noPassword)
    {
        Interop.Crypto.ErrClearError();
        SafeX509Handle certificate = Interop.Crypto.PemReadBioX509Aux(bio, 0, 0, noPassword);
        if (certificate.IsInvalid)
        {
            certificate.Dispose();
            throw Interop.Crypto.CreateOpenSslException("PEM_read_bio_X509_AUX (certificate chain)");
        }
        return certificate;
    }

    private static SafeX509StackHandle ReadIntermediates(SafeBioHandle bio, nint noPassword)
    {
        Interop.Crypto.ErrClearError();
        SafeX509StackHandle chain = Interop.Crypto.SkNewNull();
        if (chain.IsInvalid)
        {
            chain.Dispose();
            throw Interop.Crypto.CreateOpenSslException("OPENSSL_sk_new_null");
        }
        try
        {
            while (true)
            {
                Interop.Crypto.ErrClearError();
                SafeX509Handle next = Interop.Crypto.PemReadBioX509(bio, 0, 0, noPassword);
                if (next.IsInvalid)
                {
                    next.Dispose();
                    if (!Interop.Crypto.LastErrorIsPemNoStartLine())
                    {
                        throw Interop.Crypto.CreateOpenSslException("PEM_read_bio_X509 (intermediate certificate)");
                    }
                    Interop.Crypto.ErrClearError();
                    return chain;
                }
                chain.Push(next);
            }
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }

    private static SafeEvpPKeyHandle ReadPrivateKey(SafeBioHandle bio, nint noPassword)
    {
        Interop.Crypto.ErrClearError();
        SafeEvpPKeyHandle key = Interop.Crypto.PemReadBioPrivateKey(bio, 0, 0, noPassword);
        if (key.IsInvalid)
        {
            key.Dispose();
            throw Interop.Crypto.CreateOpenSslException("PEM_read_bio_PrivateKey (encrypted keys are not supported)");
        }
        return key;
    }
}
