using System.Runtime.InteropServices;

/// <summary>Owns a STACK_OF(X509) and every certificate pushed onto it (the intermediates of a chain).</summary>
internal sealed class SafeX509StackHandle : SafeHandle
{
    public SafeX509StackHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>Moves <paramref name="certificate"/> onto the stack; the stack frees it from then on.</summary>
    internal void Push(SafeX509Handle certificate)
    {
        Interop.Crypto.ErrClearError();
        if (Interop.Crypto.SkPush(this, certificate.DangerousGetHandle()) == 0)
        {
            throw Interop.Crypto.CreateOpenSslException("OPENSSL_sk_push");
        }
        certificate.SetHandleAsInvalid();
    }

    protected override bool ReleaseHandle()
    {
        nint certificate;
        while ((certificate = Interop.Crypto.SkPop(handle)) != 0)
        {
            Interop.Crypto.X509Free(certificate);
        }
        Interop.Crypto.SkFree(handle);
        return true;
    }
}
