using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Baton.Tests.IO;

/// <summary>
/// What the epoll sets of this process watch, read from /proc/self/fdinfo: the kernel's own account of
/// "registered", "armed" and "forgotten", so poller tests check the kernel rather than the poller's bookkeeping.
/// </summary>
internal static partial class EpollView
{
    /// <summary>A one-shot item that fired keeps only its flag bits: it stays in the set but wakes nobody.</summary>
    public const uint ReadinessBits = Interop.Libc.EPOLLIN | Interop.Libc.EPOLLOUT | Interop.Libc.EPOLLRDHUP;

    /// <summary>The event masks with which the epoll sets of this process watch <paramref name="socket"/>; empty when none does.</summary>
    public static IReadOnlyList<uint> Masks(SafeHandle socket) => Masks(socket, (int)socket.DangerousGetHandle());

    /// <summary>
    /// The masks of the items for <paramref name="socket"/>'s file under descriptor number <paramref name="fd"/>: the kernel
    /// keys an item by both, and keeps it while the file lives even after the number names something else.
    /// </summary>
    public static IReadOnlyList<uint> Masks(SafeHandle socket, int fd)
    {
        // fd numbers are reused; the inode names the socket itself.
        string inode = SocketInode((int)socket.DangerousGetHandle());
        var masks = new List<uint>();
        foreach (string entry in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget != "anon_inode:[eventpoll]") continue;
                foreach (string line in File.ReadLines($"/proc/self/fdinfo/{Path.GetFileName(entry)}"))
                {
                    Match item = TargetLine().Match(line);
                    if (item.Success && int.Parse(item.Groups["fd"].Value, CultureInfo.InvariantCulture) == fd && item.Groups["ino"].Value == inode)
                        masks.Add(uint.Parse(item.Groups["events"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another test closed that descriptor while we looked.
            }
        }
        return masks;
    }

    /// <summary>Watched by some epoll set with readiness bits still set (it would wake a waiter).</summary>
    public static bool IsArmed(SafeHandle socket, uint bits) => Masks(socket).Any(mask => (mask & bits) != 0);

    public static bool IsArmed(SafeHandle socket, int fd, uint bits) => Masks(socket, fd).Any(mask => (mask & bits) != 0);

    private static string SocketInode(int fd)
    {
        string target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? throw new InvalidOperationException($"fd {fd} is not open");
        Match socket = SocketLink().Match(target);
        if (!socket.Success) throw new InvalidOperationException($"fd {fd} is {target}, not a socket");
        return ulong.Parse(socket.Groups[1].Value, CultureInfo.InvariantCulture).ToString("x", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^tfd:\s*(?<fd>\d+)\s+events:\s*(?<events>[0-9a-f]+)\s+data:\s*[0-9a-f]+\s+pos:\d+\s+ino:(?<ino>[0-9a-f]+)")]
    private static partial Regex TargetLine();

    [GeneratedRegex(@"^socket:\[(\d+)\]$")]
    private static partial Regex SocketLink();
}
