using System.Runtime.InteropServices;

/// <summary>
/// Owns an SSL. After <see cref="Create"/> the SSL owns its two memory BIOs (SSL_set_bio transfers them); the BIO
/// handles stay usable for BIO_read/BIO_write but only keep the SSL alive instead of freeing the BIOs themselves.
/// The SSL also keeps its context handle referenced so context callbacks never see freed managed state.
/// </summary>
internal sealed class SafeSslHandle : SafeHandle
{
    private SafeBioHandle? _readBio;
    private SafeBioHandle? _writeBio;
    private SafeSslContextHandle? _context;

    public SafeSslHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>Memory BIO the peer's bytes are written into (OpenSSL reads records from it).</summary>
    internal SafeBioHandle ReadBio => _readBio ?? throw new ObjectDisposedException(nameof(SafeSslHandle));

    /// <summary>Memory BIO OpenSSL writes records into (the caller sends them to the peer).</summary>
    internal SafeBioHandle WriteBio => _writeBio ?? throw new ObjectDisposedException(nameof(SafeSslHandle));

    /// <summary>A server-side SSL with two memory BIOs.</summary>
    internal static SafeSslHandle Create(SafeSslContextHandle context)
    {
        Interop.Crypto.ErrClearError();
        SafeSslHandle ssl = Interop.Ssl.SslNew(context);
        if (ssl.IsInvalid)
        {
            ssl.Dispose();
            throw Interop.Crypto.CreateOpenSslException("SSL_new");
        }
        bool addedContextRef = false;
        context.DangerousAddRef(ref addedContextRef);
        ssl._context = context;

        SafeBioHandle readBio = Interop.Crypto.BioNew(Interop.Crypto.BioSMem());
        SafeBioHandle writeBio = Interop.Crypto.BioNew(Interop.Crypto.BioSMem());
        if (readBio.IsInvalid || writeBio.IsInvalid)
        {
            readBio.Dispose();
            writeBio.Dispose();
            ssl.Dispose();
            throw Interop.Crypto.CreateOpenSslException("BIO_new");
        }
        Interop.Ssl.SslSetBio(ssl, readBio, writeBio);
        readBio.TransferOwnershipToParent(ssl);
        writeBio.TransferOwnershipToParent(ssl);
        ssl._readBio = readBio;
        ssl._writeBio = writeBio;
        Interop.Ssl.SslSetAcceptState(ssl);
        return ssl;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // The BIO handles hold references on this handle; releasing them lets ReleaseHandle run.
            _readBio?.Dispose();
            _writeBio?.Dispose();
        }
        base.Dispose(disposing);
    }

    protected override bool ReleaseHandle()
    {
        Interop.Ssl.SslFree(handle);
        _context?.DangerousRelease();
        return true;
    }
}
