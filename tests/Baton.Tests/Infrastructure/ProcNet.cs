using System.Globalization;
using System.Text.RegularExpressions;

namespace Baton.Tests.Infrastructure;

/// <summary>Sockets as the kernel shows them: a process's socket descriptors (/proc/PID/fd) and TCP sockets by port (/proc/net/tcp).</summary>
public static partial class ProcNet
{
    /// <summary>The socket inodes among a process's descriptors (/proc/PID/fd → "socket:[I]").</summary>
    public static IReadOnlySet<long> SocketInodes(int pid)
    {
        var inodes = new HashSet<long>();
        foreach (string fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is string target && SocketLink().Match(target) is { Success: true } m)
                    inodes.Add(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }
        return inodes;
    }

    /// <summary>The inode of the socket listening on 127.0.0.1:<paramref name="port"/>, from /proc/net/tcp (state 0A).</summary>
    public static long ListeningInode(int port) =>
        TcpInode(port, "00000000:0000", "0A") ?? throw new Xunit.Sdk.XunitException($"nothing listens on 127.0.0.1:{port}");

    /// <summary>The inode of the server's side of the connection from 127.0.0.1:<paramref name="clientPort"/> to <paramref name="serverPort"/>, once accepted or queued.</summary>
    public static long? ConnectionInode(int serverPort, int clientPort) => TcpInode(serverPort, $"0100007F:{clientPort:X4}", "01");

    private static long? TcpInode(int localPort, string remote, string state)
    {
        string local = $"0100007F:{localPort:X4}";
        foreach (string line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1] == local && fields[2] == remote && fields[3] == state)
                return long.Parse(fields[9], CultureInfo.InvariantCulture);
        }
        return null;
    }

    [GeneratedRegex(@"^socket:\[(\d+)\]$")]
    private static partial Regex SocketLink();
}
