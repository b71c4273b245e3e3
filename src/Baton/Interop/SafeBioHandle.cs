using System.Runtime.InteropServices;

/// <summary>Owns a BIO, unless ownership moved to an SSL (SSL_set_bio): then it only keeps that SSL alive.</summary>
internal sealed class SafeBioHandle : SafeHandle
{
    private SafeHandle? _parent;

    public SafeBioHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>The parent frees the BIO; this handle keeps a reference on the parent until it is released.</summary>
    internal void TransferOwnershipToParent(SafeHandle parent)
    {
        bool added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
    }

    protected override bool ReleaseHandle()
    {
        if (_parent is not null)
        {
            _parent.DangerousRelease();
            _parent = null;
        }
        else
        {
            Interop.Crypto.BioFree(handle);
        }
        return true;
    }
}
