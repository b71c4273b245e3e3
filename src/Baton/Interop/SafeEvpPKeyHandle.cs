using System.Runtime.InteropServices;

/// <summary>Owns an EVP_PKEY (a private key loaded from PEM).</summary>
internal sealed class SafeEvpPKeyHandle : SafeHandle
{
    public SafeEvpPKeyHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.EvpPKeyFree(handle);
        return true;
    }
}
