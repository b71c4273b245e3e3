using System.Globalization;
using Baton.Channel;

namespace Baton.TestWorker;

/// <summary>
/// A real worker process for the supervisor tests. It speaks the real channel with Baton.Core's
/// <see cref="ChannelSocket"/>, and its command line, not anything production code reads, picks how it behaves:
/// <code>
/// Baton.TestWorker &lt;behaviour&gt; [--first &lt;marker file&gt; &lt;behaviour&gt;]
/// </code>
/// With <c>--first</c>, the one worker (of all those given the same marker) that receives the first connection
/// creates the marker file and switches to the second behaviour for good; the others keep the first.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        (string? usual, string? marker, string? first) = args switch
        {
            [string name] => (name, null, name),
            [string name, "--first", string file, string switched] => (name, file, switched),
            _ => default((string?, string?, string?)),
        };
        if (usual is null || first is null)
            return Usage("expected <behaviour> [--first <marker file> <behaviour>]");
        if (!TryParse(usual, out Behaviour behaviour) || !TryParse(first, out Behaviour firstBehaviour))
            return Usage($"unknown behaviour in '{string.Join(' ', args)}'");
        using ChannelSocket channel = OpenChannel();
        if (behaviour == Behaviour.Starve)
            return StarvingWorker.Run(channel);
        return new TestWorker(channel, behaviour, marker, firstBehaviour).Run();
    }

    private static bool TryParse(string name, out Behaviour behaviour) =>
        Enum.TryParse(name.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out behaviour) && Enum.IsDefined(behaviour);

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"Baton.TestWorker: {problem}; behaviours: {string.Join(", ", Enum.GetNames<Behaviour>())}");
        return 2;
    }

    /// <summary>The channel the front passed at spawn, checked as <c>WorkerListener.FromEnvironment</c> checks it.</summary>
    private static ChannelSocket OpenChannel()
    {
        string value = Environment.GetEnvironmentVariable(WorkerEnvironment.ChannelFdVariable)
            ?? throw new InvalidOperationException($"not started by a front: {WorkerEnvironment.ChannelFdVariable} is not set");
        int fd = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
        ChannelSocket channel = ChannelSocket.FromInheritedFd(fd);
        int peer = channel.GetPeerCredentials().Pid, parent = Interop.Libc.GetParentPid();
        if (peer != parent)
        {
            channel.Dispose();
            throw new InvalidOperationException($"channel fd {fd} belongs to pid {peer}, not to the parent {parent}");
        }
        return channel;
    }
}

/// <summary>What a test worker does with its settings and with each connection it is sent.</summary>
internal enum Behaviour
{
    /// <summary>Acknowledges, writes "worker pid: N" on the connection and holds it until the peer closes, then says Closed.</summary>
    Hold,

    /// <summary>Acknowledges, then serves one HTTP/1.1 request over TLS through <c>WorkerConnection</c> (the production
    /// path: its own handshake with the pool's certificates, or the front's session), answering "worker pid: N"; then says Closed.</summary>
    Tls,

    /// <summary>Answers every connection Rejected, as a draining worker does.</summary>
    Reject,

    /// <summary>Exits with <see cref="TestWorker.DiedOnConnection"/> on receiving a connection, before acknowledging it.</summary>
    Die,

    /// <summary>Exits with <see cref="TestWorker.ExitedAtStart"/> once it has its settings, before reporting Ready.</summary>
    Exit,

    /// <summary>Takes its settings and never reports Ready; exits when the channel closes.</summary>
    NeverReady,

    /// <summary>Keeps every connection's descriptor and never acknowledges it, yet still answers pings: only the Ack
    /// deadline tells that this worker will not serve what it was sent.</summary>
    Ignore,

    /// <summary>The production <c>WorkerListener</c>, whose thread pool is blocked for good once it has reported Ready
    /// (<see cref="StarvingWorker"/>): its channel thread still acknowledges, its Pongs never come.</summary>
    Starve,

    /// <summary>Acknowledges, then hands the connection straight back (Handback with a handoff body naming listener "main")
    /// and exits before the front can answer HandbackAck: a worker that dies between the two.</summary>
    HandBackAndDie,

    /// <summary>Acknowledges, then sends a Handback whose body is a passthrough Connection body (malformed for a Handback).</summary>
    HandBackMalformed,

    /// <summary>Acknowledges, then sends a well-formed Handback for a connection id it was never sent.</summary>
    HandBackUnknown,
}
