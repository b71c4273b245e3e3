using System.Runtime.InteropServices;

/// <summary>Owns an X509 certificate.</summary>
internal sealed class SafeX509Handle : SafeHandle
{
    public SafeX509Handle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.Crypto.X509Free(handle);
        return true;
    }
}
