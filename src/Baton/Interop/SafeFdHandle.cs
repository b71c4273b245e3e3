using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace Microsoft.Win32.SafeHandles;

/// <summary>Owns one file descriptor. Unlike the Windows-shaped SafeHandle helpers, fd 0 is valid: only -1 is invalid.</summary>
internal sealed class SafeFdHandle : SafeHandle
{
    public SafeFdHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle < 0;

    /// <summary>The fd number; valid only while this handle is open.</summary>
    public int Fd => (int)handle;

    /// <summary>Duplicates any fd-backed handle (a Socket's SafeSocketHandle, a pipe...) with F_DUPFD_CLOEXEC.</summary>
    public static SafeFdHandle Duplicate(SafeHandle source) => DuplicateAbove(source, 0);

    /// <summary>Duplicates <paramref name="source"/> with F_DUPFD_CLOEXEC onto the lowest free fd at or above <paramref name="lowest"/>.</summary>
    public static SafeFdHandle DuplicateAbove(SafeHandle source, int lowest)
    {
        bool added = false;
        try
        {
            source.DangerousAddRef(ref added);
            int fd = (int)source.DangerousGetHandle();
            return new SafeFdHandle(Interop.Libc.Fcntl(fd, Interop.Libc.F_DUPFD_CLOEXEC, lowest));
        }
        finally
        {
            if (added)
            {
                source.DangerousRelease();
            }
        }
    }

    /// <summary>Gives the fd to a new owner (e.g. <c>new SafeSocketHandle(fd, true)</c>); this handle then closes nothing.</summary>
    public int DetachFd()
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        int fd = (int)handle;
        SetHandleAsInvalid();
        return fd;
    }

    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle) == 0;
}
