using System.Net;
using Baton.IO;

namespace Baton.Configuration;

/// <summary>
/// Fills in the embedded default (one listener on 127.0.0.1:8443, one pool of two workers) and
/// checks the configuration at start, with errors that name the configuration key.
/// </summary>
internal static class BatonOptionsValidator
{
    /// <summary>Where the embedded default listens.</summary>
    public const string DefaultAddress = "127.0.0.1:8443";

    public static void ApplyDefaults(BatonOptions options)
    {
        if (options.Listeners.Count == 0)
            options.Listeners.Add(new ListenerOptions { Name = "default", Address = DefaultAddress });
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            if (string.IsNullOrEmpty(options.Listeners[i].Name))
                options.Listeners[i].Name = i == 0 ? "default" : $"listener{i}";
        }
        if (options.Pools.Count == 0)
            options.Pools[options.DefaultPool] = new PoolOptions();
    }

    /// <summary>Returns every problem found; an empty list means the configuration is usable.</summary>
    public static IReadOnlyList<string> Validate(BatonOptions options)
    {
        var errors = new List<string>();
        void Fail(string key, string problem) => errors.Add($"{BatonOptions.SectionName}:{key}: {problem}");

        ValidateListeners(options, Fail);
        ValidatePools(options, Fail);
        if (!options.Pools.ContainsKey(options.DefaultPool))
            Fail("DefaultPool", $"names pool '{options.DefaultPool}', which is not configured");
        ValidateRoutes(options, Fail);
        ValidateCertificates(options.Certificates, Fail);
        ValidateLimits(options.Limits, Fail);
        if (options.EventLoops is < 0 or > BatonOptions.MaxEventLoops)
            Fail("EventLoops", $"must be between 0 (one per core) and {BatonOptions.MaxEventLoops} (got {options.EventLoops})");
        ValidateSessionTickets(options.SessionTickets, Fail);
        ClientCertificatePolicies.Validate(options, Fail);
        if (options.Control.Problem() is string control)
            Fail("Control:Socket", control);
        ObservabilityValidator.Validate(options, Fail);
        return errors;
    }

    /// <summary>
    /// A front running as root starts the workers of a pool without <c>User</c> as root too: they could read the
    /// key files (in handoff mode the one thing that keeps the key in the front) and everything else root can.
    /// </summary>
    public static IReadOnlyList<string> WorkerUserWarnings(BatonOptions options, bool frontIsRoot) =>
        !frontIsRoot ? [] : options.Pools.Where(pool => pool.Value.User is null).Select(pool =>
            $"{BatonOptions.SectionName}:Pools:{pool.Key}: its workers run as root, the front's user, so they can read the key files; "
            + $"set Pools:{pool.Key}:User to an unprivileged user (e.g. nobody)").ToList();

    /// <summary>
    /// What works but likely not as meant, for the front to log at start. A Host/path route without ServerNames
    /// sends every connection on its listener that no earlier route takes through the front's HTTP/1.1-only
    /// handshake (an HTTP/2 request is inside frames the front does not read): HTTP/2 is off for all of them.
    /// </summary>
    public static IReadOnlyList<string> Warnings(BatonOptions options)
    {
        var warnings = new List<string>();
        if (!options.Pools.Values.Any(pool => pool.EffectiveAlpn.Contains("h2")))
            return warnings;
        var warned = new HashSet<string?>(StringComparer.Ordinal);
        for (int i = 0; i < options.Routes.Count; i++)
        {
            RouteOptions route = options.Routes[i];
            // Once a route on every listener has been named, later ones change nothing.
            if (!route.NeedsRequest || route.ServerNames.Count > 0 || warned.Contains(null) || !warned.Add(route.Listener))
                continue;
            string where = route.Listener is null ? "every listener" : $"listener '{route.Listener}'";
            warnings.Add($"{BatonOptions.SectionName}:Routes:{i}: routes by Host or path without ServerNames, so on {where} every connection "
                + "that no earlier route takes is routed on its first HTTP/1.1 request: HTTP/2 is off for them. "
                + "List the route's ServerNames to keep HTTP/2 for the other names");
        }
        return warnings;
    }

    private static void ValidateRoutes(BatonOptions options, Action<string, string> fail)
    {
        var fallbacksChecked = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Routes.Count; i++)
        {
            RouteOptions route = options.Routes[i];
            if (!options.Pools.ContainsKey(route.Pool))
                fail($"Routes:{i}:Pool", $"names pool '{route.Pool}', which is not configured");
            else if (route.NeedsRequest && options.Pools[route.Pool].Mode == HandoffMode.Passthrough)
                fail($"Routes:{i}:Pool", $"routes by Host or path, so pool '{route.Pool}' must be in handoff or proxy mode (only the front reads requests)");
            if (route.NeedsRequest && fallbacksChecked.Add(FallbackFor(options, i).Key))
                CheckFallback(options, i, fail);
            if (route.PathPrefix is { } prefix && PathPrefixProblem(prefix) is string problem)
                fail($"Routes:{i}:PathPrefix", $"'{prefix}' {problem}");
            for (int h = 0; h < route.Hosts.Count; h++)
            {
                if (!HostPattern.IsValid(route.Hosts[h]))
                    fail($"Routes:{i}:Hosts:{h}", $"'{route.Hosts[h]}' is not a host name or *.domain pattern");
            }
            if (route.Listener is not null && options.Listeners.All(l => l.Name != route.Listener))
                fail($"Routes:{i}:Listener", $"names listener '{route.Listener}', which is not configured");
            for (int n = 0; n < route.ServerNames.Count; n++)
            {
                if (!HostPattern.IsValid(route.ServerNames[n]))
                    fail($"Routes:{i}:ServerNames:{n}", $"'{route.ServerNames[n]}' is not a host name or *.domain pattern");
            }
        }
    }

    /// <summary>
    /// A prefix is matched on the path as the application sees it (decoded, dot segments removed), so one written
    /// any other way could never match: '/caf%C3%A9/' is written '/café/'.
    /// </summary>
    private static string? PathPrefixProblem(string prefix)
    {
        if (!prefix.StartsWith('/'))
            return "must start with '/'";
        if (prefix.IndexOfAny(['?', '#']) >= 0)
            return "is matched on the path alone: no '?' or '#'";
        for (int i = prefix.IndexOf('%'); i >= 0 && i + 2 < prefix.Length; i = prefix.IndexOf('%', i + 1))
        {
            if (char.IsAsciiHexDigit(prefix[i + 1]) && char.IsAsciiHexDigit(prefix[i + 2]))
                return "is matched on the decoded path: write the characters, not their %XX escapes";
        }
        string[] segments = prefix.Split('/');
        if (segments.Any(segment => segment is "." or ".."))
            return "is matched on the path with dot segments removed: no '.' or '..' segments";
        return null;
    }

    /// <summary>
    /// A connection that reaches a Host/path route has had its TLS terminated by the front, so if its request
    /// matches nothing it can only go on to a handoff pool: a passthrough pool's worker would expect a ClientHello.
    /// </summary>
    private static void CheckFallback(BatonOptions options, int route, Action<string, string> fail)
    {
        (string key, string pool) = FallbackFor(options, route);
        if (options.Pools.TryGetValue(pool, out PoolOptions? fallback) && fallback.Mode == HandoffMode.Passthrough)
            fail(key, $"pool '{pool}' is in passthrough mode, so requests that Routes:{route} (by Host or path) does not match would be "
                + "answered 421: the front has already terminated their TLS and can hand them only to a handoff or proxy pool. Name one of those here");
    }

    /// <summary>Where a connection goes that Host/path route <paramref name="route"/> saw but did not take: the first later route certain to match it, else DefaultPool.</summary>
    private static (string Key, string Pool) FallbackFor(BatonOptions options, int route)
    {
        string? listener = options.Routes[route].Listener;
        for (int j = route + 1; j < options.Routes.Count; j++)
        {
            RouteOptions later = options.Routes[j];
            if (!later.NeedsRequest && later.ServerNames.Count == 0 && (later.Listener is null || later.Listener == listener))
                return ($"Routes:{j}:Pool", later.Pool);
        }
        return ("DefaultPool", options.DefaultPool);
    }

    private static void ValidateCertificates(List<CertificateOptions> certificates, Action<string, string> fail)
    {
        for (int i = 0; i < certificates.Count; i++)
        {
            CertificateOptions cert = certificates[i];
            if (!File.Exists(cert.CertificateFile))
                fail($"Certificates:{i}:CertificateFile", $"file '{cert.CertificateFile}' does not exist");
            if (!File.Exists(cert.KeyFile))
                fail($"Certificates:{i}:KeyFile", $"file '{cert.KeyFile}' does not exist");
            for (int n = 0; n < cert.ServerNames.Count; n++)
            {
                if (!HostPattern.IsValid(cert.ServerNames[n]))
                    fail($"Certificates:{i}:ServerNames:{n}", $"'{cert.ServerNames[n]}' is not a host name or *.domain pattern");
            }
        }
    }

    private static void ValidateSessionTickets(SessionTicketOptions tickets, Action<string, string> fail)
    {
        if (tickets.KeyFile is not null && !File.Exists(tickets.KeyFile))
            fail("SessionTickets:KeyFile", $"file '{tickets.KeyFile}' does not exist");
        else if (tickets.KeyFile is not null && new FileInfo(tickets.KeyFile).Length is long length
            && (length == 0 || length % SessionTicketOptions.KeyEntryLength != 0 || length > SessionTicketOptions.MaxKeys * SessionTicketOptions.KeyEntryLength))
            fail("SessionTickets:KeyFile", $"must hold 1..{SessionTicketOptions.MaxKeys} keys of {SessionTicketOptions.KeyEntryLength} bytes (it has {length} bytes)");
        if (tickets.RotationInterval <= TimeSpan.Zero)
            fail("SessionTickets:RotationInterval", $"must be a positive duration (got {tickets.RotationInterval})");
        if (tickets.DecryptionWindow < TimeSpan.Zero)
            fail("SessionTickets:DecryptionWindow", $"must not be negative (got {tickets.DecryptionWindow})");
        if (tickets.TicketsPerHandshake is < 0 or > SessionTicketOptions.MaxTicketsPerHandshake)
            fail("SessionTickets:TicketsPerHandshake", $"must be between 0 and {SessionTicketOptions.MaxTicketsPerHandshake} (got {tickets.TicketsPerHandshake})");
    }

    private static void ValidateListeners(BatonOptions options, Action<string, string> fail)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            ListenerOptions listener = options.Listeners[i];
            if (!IPEndPoint.TryParse(listener.Address, out IPEndPoint? endPoint))
                fail($"Listeners:{i}:Address", $"'{listener.Address}' is not an address:port such as 127.0.0.1:8443");
            else if (endPoint.Port == 0 && !listener.Address.EndsWith(":0", StringComparison.Ordinal))
                fail($"Listeners:{i}:Address", $"'{listener.Address}' has no port (use :0 for any free port)");
            if (!names.Add(listener.Name))
                fail($"Listeners:{i}:Name", $"'{listener.Name}' is used by another listener");
        }
    }

    private static void ValidatePools(BatonOptions options, Action<string, string> fail)
    {
        foreach ((string name, PoolOptions pool) in options.Pools)
        {
            if (pool.Workers is < 1 or > 256)
                fail($"Pools:{name}:Workers", $"must be between 1 and 256 (got {pool.Workers})");
            if (pool.MaxConnectionsPerWorker < 1)
                fail($"Pools:{name}:MaxConnectionsPerWorker", $"must be at least 1 (got {pool.MaxConnectionsPerWorker})");
            if (pool.Command is not null && !File.Exists(pool.Command))
                fail($"Pools:{name}:Command", $"file '{pool.Command}' does not exist");
            if (pool.User is not null && ProcessIdentity.Problem(pool.User) is string userProblem)
                fail($"Pools:{name}:User", userProblem);
            // A proxy pool may negotiate no protocol at all (its default): its backend may speak anything.
            if ((pool.EffectiveAlpn.Count == 0 && pool.Mode != HandoffMode.Proxy) || pool.EffectiveAlpn.Any(p => p.Length is 0 or > 255))
                fail($"Pools:{name}:Alpn", "must list one or more protocol names of 1 to 255 bytes");
            RelayOptionsValidator.ValidatePool(name, pool, fail);
            foreach ((string variable, string value) in pool.Environment)
            {
                if (variable.Length == 0 || variable.Contains('=') || variable.Contains('\0') || value.Contains('\0'))
                    fail($"Pools:{name}:Environment:{variable}", "a variable name must be non-empty without '=' or NUL, and its value without NUL");
                else if (variable.StartsWith("BATON_", StringComparison.Ordinal))
                    fail($"Pools:{name}:Environment:{variable}", "BATON_ variables are the front's contract with its workers and are set by the front");
            }
        }
    }

    private static void ValidateLimits(LimitOptions limits, Action<string, string> fail)
    {
        void Positive(string key, TimeSpan value)
        {
            if (value <= TimeSpan.Zero)
                fail($"Limits:{key}", $"must be a positive duration such as 00:00:05 (got {value})");
        }
        Positive(nameof(limits.ProxyHeaderTimeout), limits.ProxyHeaderTimeout);
        Positive(nameof(limits.ClientHelloTimeout), limits.ClientHelloTimeout);
        Positive(nameof(limits.HandshakeTimeout), limits.HandshakeTimeout);
        Positive(nameof(limits.RequestHeadTimeout), limits.RequestHeadTimeout);
        Positive(nameof(limits.PressureTimeout), limits.PressureTimeout);
        Positive(nameof(limits.DispatchTimeout), limits.DispatchTimeout);
        Positive(nameof(limits.ShutdownTimeout), limits.ShutdownTimeout);
        Positive(nameof(limits.WorkerStartTimeout), limits.WorkerStartTimeout);
        Positive(nameof(limits.RestartBackoff), limits.RestartBackoff);
        Positive(nameof(limits.MaxRestartBackoff), limits.MaxRestartBackoff);
        if (limits.WorkerResponseTimeout < LimitOptions.MinWorkerResponseTimeout)
            fail("Limits:WorkerResponseTimeout", $"must be at least {LimitOptions.MinWorkerResponseTimeout} (got {limits.WorkerResponseTimeout})");
        if (limits.MaxFrontConnections < 1)
            fail("Limits:MaxFrontConnections", $"must be at least 1 (got {limits.MaxFrontConnections})");
        if (limits.ClientHelloMaxBytes is < 512 or > 256 * 1024)
            fail("Limits:ClientHelloMaxBytes", $"must be between 512 and 262144 (got {limits.ClientHelloMaxBytes})");
        // The plaintext read while looking for the head (limit + one 16 KiB record) must fit the 64 KiB InitialData.
        if (limits.MaxRequestHeadBytes is < 1024 or > 48 * 1024)
            fail("Limits:MaxRequestHeadBytes", $"must be between 1024 and 49152 (got {limits.MaxRequestHeadBytes})");
    }
}
