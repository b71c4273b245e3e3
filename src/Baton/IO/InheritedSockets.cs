using System.Collections;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Baton.IO;

/// <summary>A listening socket this process was given at start, with the name it was given under.</summary>
internal sealed record InheritedSocket(string Name, Socket Socket);

/// <summary>
/// Listening sockets passed to this process as systemd passes them (sd_listen_fds(3)): descriptors 3, 4, … announced
/// by <c>LISTEN_FDS</c> (how many), <c>LISTEN_FDNAMES</c> (their names, colon-separated) and <c>LISTEN_PID</c> (the
/// process they are for). A binary upgrade passes them the same way (docs/lifecycle.md), except that it cannot know the
/// new process's pid before it exists, so there the caller vouches for the variables instead of <c>LISTEN_PID</c>.
/// </summary>
internal static class InheritedSockets
{
    /// <summary>SD_LISTEN_FDS_START.</summary>
    public const int FirstFd = 3;

    public const string CountVariable = "LISTEN_FDS";
    public const string NamesVariable = "LISTEN_FDNAMES";
    public const string PidVariable = "LISTEN_PID";

    /// <summary>More than any front listens on; bounds what a malformed LISTEN_FDS makes this process touch.</summary>
    public const int MaxSockets = 256;

    /// <summary>
    /// Takes the sockets announced in the environment, and removes the announcement so nothing this process starts
    /// reads it again. None when <c>LISTEN_FDS</c> is unset or meant for another process. Every descriptor is made
    /// close-on-exec (systemd passes them without, and the workers must not get them) and checked: a TCP stream socket
    /// in the listening state. A problem is returned in <paramref name="problem"/>, with no socket taken.
    /// </summary>
    public static IReadOnlyList<InheritedSocket> TakeFromEnvironment(bool pidVouchedFor, out string? problem)
    {
        IDictionary environment = Environment.GetEnvironmentVariables();
        string? count = environment[CountVariable] as string;
        string? names = environment[NamesVariable] as string;
        string? pid = environment[PidVariable] as string;
        foreach (string variable in (string[])[CountVariable, NamesVariable, PidVariable])
            Environment.SetEnvironmentVariable(variable, null);
        problem = null;
        if (count is null)
            return [];
        if (!pidVouchedFor && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            return [];
        return Take(count, names, out problem);
    }

    private static List<InheritedSocket> Take(string count, string? names, out string? problem)
    {
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > MaxSockets)
        {
            problem = $"{CountVariable}='{count}' is not a number of descriptors from 1 to {MaxSockets}";
            return [];
        }
        string[] nameList = names?.Split(':') ?? [];
        if (nameList.Length != n)
        {
            problem = $"{CountVariable}={n} but {NamesVariable} names {(names is null ? "none" : nameList.Length.ToString(CultureInfo.InvariantCulture))} " +
                "of them: give every socket the Name of its listener (systemd: FileDescriptorName=)";
            return [];
        }
        var sockets = new List<InheritedSocket>(n);
        problem = null;
        for (int i = 0; i < n && problem is null; i++)
        {
            problem = Check(FirstFd + i, nameList[i]);
            if (problem is null)
                sockets.Add(new InheritedSocket(nameList[i], new Socket(new SafeSocketHandle(FirstFd + i, ownsHandle: true))));
        }
        if (problem is not null)
        {
            foreach (InheritedSocket taken in sockets)
                taken.Socket.Dispose();
            return [];
        }
        return sockets;
    }

    /// <summary>Null when <paramref name="fd"/> is a listening TCP socket (IPv4 or IPv6), else what it is instead.</summary>
    private static string? Check(int fd, string name)
    {
        string which = $"descriptor {fd} ({NamesVariable} '{name}')";
        // Not owned: on a problem the descriptor stays as it came (the process is about to exit with the problem).
        using var handle = new SafeFdHandle(fd);
        try
        {
            Interop.Libc.SetCloseOnExec(fd);
            if (Interop.Libc.GetSocketOptionInt32(handle, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_TYPE) != Interop.Libc.SOCK_STREAM)
                return $"{which} is not a stream socket";
            int family = Interop.Libc.GetSocketOptionInt32(handle, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_DOMAIN);
            if (family is not (Interop.Libc.AF_INET or Interop.Libc.AF_INET6))
                return $"{which} is not an IPv4 or IPv6 socket (address family {family})";
            if (Interop.Libc.GetSocketOptionInt32(handle, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_ACCEPTCONN) != 1)
                return $"{which} is not listening (systemd: a socket unit with ListenStream= and Accept=no)";
            return null;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"{which} is not an open socket: {ex.Message}";
        }
        finally
        {
            handle.SetHandleAsInvalid();
        }
    }
}
