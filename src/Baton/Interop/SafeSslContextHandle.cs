using System.Runtime.InteropServices;

/// <summary>
/// Owns an SSL_CTX and the managed state its callbacks reach through a GCHandle. Every SafeSslHandle created from
/// it holds a reference, so the SSL_CTX, the GCHandle and the state outlive the last connection even after Dispose.
/// </summary>
internal sealed class SafeSslContextHandle : SafeHandle
{
    private GCHandle _callbackState;

    public SafeSslContextHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>Pins <paramref name="state"/> for the callbacks and returns the pointer to pass as their argument.</summary>
    internal nint SetCallbackState(IDisposable state)
    {
        _callbackState = GCHandle.Alloc(state);
        return GCHandle.ToIntPtr(_callbackState);
    }

    protected override bool ReleaseHandle()
    {
        Interop.Ssl.SslCtxFree(handle);
        if (_callbackState.IsAllocated)
        {
            ((IDisposable)_callbackState.Target!).Dispose();
            _callbackState.Free();
        }
        return true;
    }
}
