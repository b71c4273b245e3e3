using System.Runtime.InteropServices;
using Baton.Channel;

namespace Baton.Supervisor;

/// <summary>
/// Starts a worker with <see cref="ProcessSpawner"/>, giving it exactly one inherited descriptor: its end of
/// the channel as fd 3, and an environment built, not inherited. See docs/architecture.md, "Spawning workers".
/// </summary>
internal static class WorkerSpawner
{
    /// <summary>The descriptor number of the channel inside every worker.</summary>
    public const int ChannelFd = ProcessSpawner.FirstInheritedFd;

    /// <summary>Spawns <paramref name="argv"/>[0] and returns its pid; throws with the errno on failure.</summary>
    public static int Spawn(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> extraEnvironment, SafeHandle channelEnd) =>
        ProcessSpawner.Spawn(argv, BuildEnvironment(extraEnvironment), [channelEnd], ownProcessGroup: true);

    private static List<string> BuildEnvironment(IReadOnlyDictionary<string, string> extra)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in WorkerEnvironment.Inherited(Environment.GetEnvironmentVariables()))
            environment[key] = value;
        foreach ((string key, string value) in extra)
            environment[key] = value;
        environment[WorkerEnvironment.ChannelFdVariable] = ChannelFd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment.Select(kv => $"{kv.Key}={kv.Value}").ToList();
    }
}
