using System.Runtime.InteropServices;

namespace Microsoft.Win32.SafeHandles;

/// <summary>Owns one EVP_CIPHER_CTX. Freeing it also cleanses the key schedule inside it.</summary>
internal sealed class SafeEvpCipherCtxHandle : SafeHandle
{
    public SafeEvpCipherCtxHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle()
    {
        global::Interop.Crypto.EvpCipherCtxFree(handle);
        return true;
    }
}
