using System.Globalization;
using System.Text.RegularExpressions;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// Starts a program the way systemd's socket activation does, without systemd: python3 makes the socket, puts it at
/// fd 3 without close-on-exec, sets LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (its own pid, which exec keeps) and
/// execs the program. It prints <c>activation: port=P inode=I</c> first, so a test knows which socket it gave.
/// </summary>
public static partial class SocketActivation
{
    /// <summary>What python3 puts at fd 3.</summary>
    public enum Kind { Listening, NotListening, UnixListening }

    private const string Script = """
        import os, socket, sys
        kind, count, names, pid = sys.argv[1:5]
        if kind == "UnixListening":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind("\0baton-test-activation-%d" % os.getpid())
            s.listen(16)
            print("activation: port=0 inode=%d" % os.fstat(s.fileno()).st_ino, flush=True)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            if kind == "Listening":
                s.listen(511)
            print("activation: port=%d inode=%d" % (s.getsockname()[1], os.fstat(s.fileno()).st_ino), flush=True)
        fd = s.detach()
        if fd != 3:
            os.dup2(fd, 3)
            os.close(fd)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = count
        if names != "-":
            os.environ["LISTEN_FDNAMES"] = names
        os.environ["LISTEN_PID"] = str(os.getpid() if pid == "self" else os.getpid() + 100000)
        os.execv(sys.argv[5], sys.argv[5:])
        """;

    /// <summary>
    /// The launcher (for <see cref="BatonFront.StartAsync"/> or before an executable): one socket of <paramref name="kind"/>
    /// announced with <paramref name="count"/> and <paramref name="names"/> ("-": no LISTEN_FDNAMES), for this process
    /// or (<paramref name="forThisProcess"/> false) for another pid, as a stray announcement would be.
    /// </summary>
    public static IReadOnlyList<string> Launcher(Kind kind = Kind.Listening, string names = "default", string count = "1", bool forThisProcess = true) =>
        ["python3", "-c", Script, kind.ToString(), count, names, forThisProcess ? "self" : "other"];

    /// <summary>The port and socket inode python3 printed.</summary>
    public static (int Port, long Inode) Given(string output)
    {
        Match match = GivenLine().Match(output);
        Assert.True(match.Success, $"no activation line in:\n{output}");
        return (int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"activation: port=(\d+) inode=(\d+)")]
    private static partial Regex GivenLine();
}
