using System.Runtime.InteropServices;

/// <summary>Owns an X509_STORE (trusted CAs and CRLs). SSL_set1_verify_cert_store takes its own reference.</summary>
internal sealed class SafeX509StoreHandle : SafeHandle
{
    public SafeX509StoreHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.X509StoreFree(handle);
        return true;
    }
}

/// <summary>Owns an X509_CRL.</summary>
internal sealed class SafeX509CrlHandle : SafeHandle
{
    public SafeX509CrlHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.X509CrlFree(handle);
        return true;
    }
}

/// <summary>Owns a STACK_OF(X509_NAME) and every name pushed onto it (the CA names a server asks client certificates from).</summary>
internal sealed class SafeX509NameStackHandle : SafeHandle
{
    public SafeX509NameStackHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        nint name;
        while ((name = Interop.Crypto.SkPop(handle)) != 0)
            Interop.Crypto.X509NameFree(name);
        Interop.Crypto.SkFree(handle);
        return true;
    }
}
