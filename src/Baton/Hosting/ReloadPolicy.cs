using Baton.Channel;
using Baton.Configuration;
using Baton.Supervisor;

namespace Baton.Hosting;

/// <summary>
/// What a reload cannot change in a running front, and so leaves as it runs, saying so: the settings of a pool that
/// keeps running beyond what a deploy changes (<see cref="DeployKeys"/>: a new generation of its workers), the limits
/// the pools and the connection cap were built with, and the control socket. Everything else a reload applies.
/// </summary>
internal static class ReloadPolicy
{
    private const string RestartNote = "it applies when the front is restarted";

    /// <summary>What a new generation of a pool's workers can change; the rest (its mode, ALPN, limits) the front routes by.</summary>
    private static readonly string[] DeployKeys =
        [nameof(PoolOptions.Workers), nameof(PoolOptions.Command), nameof(PoolOptions.Arguments), nameof(PoolOptions.Environment)];

    /// <summary>
    /// Puts the running values into <paramref name="loaded"/> where it differs on any of those, and returns one note per
    /// difference, naming its key. A pool new to <paramref name="loaded"/> keeps its own settings: it is started. A running
    /// pool whose only changes are <see cref="DeployKeys"/> keeps the loaded settings and is named in <paramref name="deploys"/>.
    /// </summary>
    public static List<string> KeepRunning(
        BatonOptions running, BatonOptions loaded, IReadOnlyDictionary<string, WorkerPool> pools, out List<string> deploys)
    {
        var notes = new List<string>();
        deploys = [];
        foreach ((string name, PoolOptions pool) in loaded.Pools.ToList())
        {
            if (!pools.TryGetValue(name, out WorkerPool? runningPool))
                continue;
            string[] changed = PoolDifferences(runningPool.Options, pool);
            if (changed.Length > 0 && changed.All(DeployKeys.Contains))
            {
                deploys.Add(name);
                continue;
            }
            if (changed.Length > 0)
                notes.Add($"{BatonOptions.SectionName}:Pools:{name}: {string.Join(", ", changed)} changed; the pool keeps running as it was started "
                    + $"(a reload deploys a new generation of workers only when nothing but {string.Join(", ", DeployKeys)} changed), {RestartNote}");
            loaded.Pools[name] = runningPool.Options;
        }
        KeepRunningLimits(running.Limits, loaded.Limits, notes);
        if (running.EventLoops != loaded.EventLoops)
        {
            notes.Add($"{BatonOptions.SectionName}:EventLoops changed; the front keeps {running.EventLoopCount} loops, {RestartNote}");
            loaded.EventLoops = running.EventLoops;
        }
        if (running.Control.EffectiveSocketPath != loaded.Control.EffectiveSocketPath)
        {
            notes.Add($"{BatonOptions.SectionName}:Control:Socket changed; the front keeps answering on {running.Control.EffectiveSocketPath}, {RestartNote}");
            loaded.Control = running.Control;
        }
        return notes;
    }

    private static string[] PoolDifferences(PoolOptions running, PoolOptions loaded)
    {
        var changed = new List<string>();
        void Compare(string key, bool same)
        {
            if (!same) changed.Add(key);
        }
        Compare(nameof(PoolOptions.Workers), running.Workers == loaded.Workers);
        Compare(nameof(PoolOptions.Mode), running.Mode == loaded.Mode);
        Compare(nameof(PoolOptions.Command), running.Command == loaded.Command);
        Compare(nameof(PoolOptions.Arguments), running.Arguments.SequenceEqual(loaded.Arguments));
        Compare(nameof(PoolOptions.Alpn), running.EffectiveAlpn.SequenceEqual(loaded.EffectiveAlpn));
        Compare(nameof(PoolOptions.MaxConnectionsPerWorker), running.MaxConnectionsPerWorker == loaded.MaxConnectionsPerWorker);
        Compare(nameof(PoolOptions.User), running.User == loaded.User);
        Compare(nameof(PoolOptions.Environment), running.Environment.Count == loaded.Environment.Count
            && running.Environment.All(pair => loaded.Environment.TryGetValue(pair.Key, out string? value) && value == pair.Value));
        // Proxy mode: the relays were started with these (RelaySettings), the front routes with FirstRequest.
        Compare(nameof(PoolOptions.Backends), running.EffectiveBackends.SequenceEqual(loaded.EffectiveBackends));
        Compare(nameof(PoolOptions.Relay), RelaySettings.From(running).SameAs(RelaySettings.From(loaded)));
        Compare(nameof(PoolOptions.FirstRequest), running.EffectiveFirstRequest == loaded.EffectiveFirstRequest);
        return [.. changed];
    }

    /// <summary>
    /// The limits read when the pools, the accept loops and the connection cap were made. The per-connection bounds
    /// (PROXY header, ClientHello, handshake, request head) are not among them: new connections get the new ones.
    /// </summary>
    private static void KeepRunningLimits(LimitOptions running, LimitOptions loaded, List<string> notes)
    {
        void Keep<T>(string key, Func<LimitOptions, T> read, Action<LimitOptions, T> write)
        {
            if (EqualityComparer<T>.Default.Equals(read(running), read(loaded)))
                return;
            notes.Add($"{BatonOptions.SectionName}:Limits:{key} changed; the front keeps {read(running)}, {RestartNote}");
            write(loaded, read(running));
        }
        Keep(nameof(LimitOptions.MaxFrontConnections), l => l.MaxFrontConnections, (l, v) => l.MaxFrontConnections = v);
        Keep(nameof(LimitOptions.PressureTimeout), l => l.PressureTimeout, (l, v) => l.PressureTimeout = v);
        Keep(nameof(LimitOptions.DispatchTimeout), l => l.DispatchTimeout, (l, v) => l.DispatchTimeout = v);
        Keep(nameof(LimitOptions.WorkerResponseTimeout), l => l.WorkerResponseTimeout, (l, v) => l.WorkerResponseTimeout = v);
        Keep(nameof(LimitOptions.WorkerStartTimeout), l => l.WorkerStartTimeout, (l, v) => l.WorkerStartTimeout = v);
        Keep(nameof(LimitOptions.ShutdownTimeout), l => l.ShutdownTimeout, (l, v) => l.ShutdownTimeout = v);
        Keep(nameof(LimitOptions.RestartBackoff), l => l.RestartBackoff, (l, v) => l.RestartBackoff = v);
        Keep(nameof(LimitOptions.MaxRestartBackoff), l => l.MaxRestartBackoff, (l, v) => l.MaxRestartBackoff = v);
    }
}
