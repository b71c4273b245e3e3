using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Baton.Hosting;

/// <summary>
/// The readiness channel of a binary upgrade: a SEQPACKET socketpair whose one end the old front keeps and whose
/// other end the new front gets as a descriptor announced in <see cref="FdVariable"/>. The new front writes one
/// sd_notify-style message on it when it serves (<c>READY=1</c>, <c>MAINPID=</c>); its exit before that reads as
/// end-of-stream. No path, no permissions: only the two processes hold it.
/// </summary>
internal sealed class UpgradeChannel : IDisposable
{
    public const string FdVariable = "BATON_UPGRADE_FD";

    /// <summary>The most a readiness message may be; anything longer is not one.</summary>
    public const int MaxMessageBytes = 512;

    private readonly Socket _socket;

    private UpgradeChannel(Socket socket, int parentPid)
    {
        _socket = socket;
        ParentPid = parentPid;
    }

    /// <summary>The old front (on the new front's side).</summary>
    public int ParentPid { get; }

    /// <summary>The old front's end as a socket, and the end for the new front (CLOEXEC; the spawn places it).</summary>
    public static (Socket Ours, SafeFdHandle Theirs) CreatePair()
    {
        (SafeFdHandle ours, SafeFdHandle theirs) = Interop.Libc.SocketPair(Interop.Libc.AF_UNIX, Interop.Libc.SOCK_SEQPACKET | Interop.Libc.SOCK_CLOEXEC);
        return (new Socket(new SafeSocketHandle(ours.DetachFd(), ownsHandle: true)), theirs);
    }

    /// <summary>
    /// On the new front: the channel announced in the environment (the announcement is removed), or null when this
    /// front was not started by an upgrade. The descriptor is made close-on-exec and must come from the parent:
    /// a socketpair's peer credentials are its creator's. A bad announcement is a <paramref name="problem"/>.
    /// </summary>
    public static UpgradeChannel? TakeFromEnvironment(out string? problem)
    {
        problem = null;
        string? value = Environment.GetEnvironmentVariable(FdVariable);
        Environment.SetEnvironmentVariable(FdVariable, null);
        if (value is null)
            return null;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd) || fd < 3)
        {
            problem = $"{FdVariable}='{value}' is not a descriptor number";
            return null;
        }
        var handle = new SafeFdHandle(fd);
        try
        {
            Interop.Libc.SetCloseOnExec(fd);
            int creator = Interop.Libc.GetPeerCredentials(handle).Pid;
            int parent = Interop.Libc.GetParentPid();
            if (creator != parent)
            {
                problem = $"{FdVariable}={fd} was made by pid {creator}, not by this front's parent (pid {parent})";
                handle.Dispose();
                return null;
            }
            return new UpgradeChannel(new Socket(new SafeSocketHandle(handle.DetachFd(), ownsHandle: true)), parent);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            handle.Dispose();
            problem = $"{FdVariable}={fd} is not the channel of an upgrade: {ex.Message}";
            return null;
        }
    }

    /// <summary>On the new front: tells the old one this front serves. Failing (the old one is gone) is not this front's problem.</summary>
    public bool SignalReady()
    {
        byte[] message = Encoding.ASCII.GetBytes($"READY=1\nMAINPID={Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
        try
        {
            return _socket.Send(message) == message.Length;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// On the old front: waits for the new front's message. Returns the pid it names (<paramref name="spawned"/> when it
    /// names none), or null with <paramref name="problem"/> when the channel ended first or the message is not READY=1.
    /// </summary>
    public static async Task<(int? Pid, string? Problem)> WaitForReadyAsync(Socket ours, int spawned, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxMessageBytes + 1];
        int received = await ours.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (received == 0)
            return (null, "exited");
        if (received > MaxMessageBytes)
            return (null, $"sent a message longer than {MaxMessageBytes} bytes instead of READY=1");
        string[] lines = Encoding.ASCII.GetString(buffer, 0, received).Split('\n');
        if (!lines.Contains("READY=1", StringComparer.Ordinal))
            return (null, "sent a message without READY=1");
        string? mainPid = lines.FirstOrDefault(l => l.StartsWith("MAINPID=", StringComparison.Ordinal));
        if (mainPid is null)
            return (spawned, null);
        return int.TryParse(mainPid.AsSpan("MAINPID=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0
            ? (pid, null)
            : (null, $"sent a malformed {mainPid}");
    }

    public void Dispose() => _socket.Dispose();
}
