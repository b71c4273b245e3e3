using System.Runtime.InteropServices;

namespace Baton.IO;

/// <summary>
/// Takes a socket out of every epoll set of this process before its descriptor is closed while another process keeps
/// the connection open (handback). The kernel drops an epoll registration only when the last descriptor of the file is
/// closed, not when this one is: the runtime's set would keep the stale (descriptor number, file) entry, and when the
/// same connection comes back to this process on the same number the runtime's EPOLL_CTL_ADD fails with EEXIST (seen:
/// Kestrel's "Connection processing ended abnormally ... EEXIST"). The runtime's sets are found as this process's
/// <c>anon_inode:[eventpoll]</c> descriptors; a set the socket is not in answers ENOENT, which is fine.
/// </summary>
internal static class EpollRegistrations
{
    private const string EventPollTarget = "anon_inode:[eventpoll]";

    /// <summary>EPOLL_CTL_DEL of <paramref name="socket"/> in every epoll set of this process (best effort; no read or write may be pending).</summary>
    public static void RemoveEverywhere(SafeHandle socket)
    {
        int fd = (int)socket.DangerousGetHandle();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed between the listing and the readlink
            }
            if (target == EventPollTarget && int.TryParse(Path.GetFileName(entry), out int epoll))
                Interop.Libc.EpollControl(epoll, Interop.Libc.EPOLL_CTL_DEL, fd, 0, 0);
        }
    }
}
