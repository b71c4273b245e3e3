namespace Baton.Configuration;

/// <summary>The checks of a pool's proxy-mode keys (Backend, Backends, Relay, FirstRequest), each naming its key.</summary>
internal static class RelayOptionsValidator
{
    /// <summary>The most backends one pool may list (each worker keeps the health of each).</summary>
    public const int MaxBackends = 64;

    public static void ValidatePool(string name, PoolOptions pool, Action<string, string> fail)
    {
        string key = $"Pools:{name}";
        IReadOnlyList<string> backends = pool.EffectiveBackends;
        if (pool.Mode != HandoffMode.Proxy)
        {
            if (backends.Count > 0)
                fail($"{key}:Backend", "backends belong to proxy pools (\"Mode\": \"proxy\"); this pool's workers serve the connections themselves");
            if (pool.Mode == HandoffMode.Passthrough && pool.FirstRequest is not null)
                fail($"{key}:FirstRequest", "a passthrough pool's front never terminates TLS, so it reads no request");
            return;
        }
        if (backends.Count == 0)
            fail($"{key}:Backend", "a proxy pool needs a Backend (\"127.0.0.1:8080\" or a Unix socket path) or Backends");
        if (backends.Count > MaxBackends)
            fail($"{key}:Backends", $"at most {MaxBackends} backends (got {backends.Count})");
        for (int i = 0; i < pool.Backends.Count; i++)
            CheckAddress($"{key}:Backends:{i}", pool.Backends[i], fail);
        if (pool.Backend is not null)
            CheckAddress($"{key}:Backend", pool.Backend, fail);
        RelayOptions relay = pool.Relay;
        Positive($"{key}:Relay:ConnectTimeout", relay.ConnectTimeout, fail);
        Positive($"{key}:Relay:ClientIdleTimeout", relay.ClientIdleTimeout, fail);
        Positive($"{key}:Relay:BackendIdleTimeout", relay.BackendIdleTimeout, fail);
        if (relay.MaxRetryBackoff < TimeSpan.FromSeconds(1))
            fail($"{key}:Relay:MaxRetryBackoff", $"must be at least 00:00:01 (got {relay.MaxRetryBackoff})");
    }

    private static void CheckAddress(string key, string address, Action<string, string> fail)
    {
        if (!BackendAddress.TryParse(address, out _))
            fail(key, $"'{address}' is not host:port (e.g. 127.0.0.1:8080, backend.internal:80) or an absolute Unix socket path");
    }

    private static void Positive(string key, TimeSpan value, Action<string, string> fail)
    {
        // The channel carries milliseconds in 32 bits.
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > uint.MaxValue)
            fail(key, $"must be a positive duration such as 00:00:05 (got {value})");
    }
}
