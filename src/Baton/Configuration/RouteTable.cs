namespace Baton.Configuration;

/// <summary>
/// Picks a pool for a connection, and in a worker for each request of a kept-alive HTTP/1.1 connection (handback):
/// the one routing rule, on the Configuration floor so that the front and the workers apply the very same code. Routes are tried in order; a route matches when its listener,
/// server-name patterns, Host patterns and path prefix all match (an empty criterion matches
/// anything). A path prefix is matched on the path as the worker's application will see it (decoded, dot segments
/// removed: the request head's NormalizedPath) and ignoring case, as ASP.NET Core's routing
/// matches paths (OrdinalIgnoreCase). Before the first request is known, a route that needs it stops the search: the front
/// must terminate TLS and read the request before deciding.
/// </summary>
internal sealed class RouteTable
{
    private readonly IReadOnlyList<RouteOptions> _routes;
    private readonly string _defaultPool;
    private readonly IReadOnlyList<ListenerOptions> _listeners;
    /// <summary>Each client-certificate setting's number (ClientCertificatePolicies), by reference: two equal settings are still two.</summary>
    private readonly Dictionary<ClientCertificateOptions, int> _clientCertificateNumbers = new(ReferenceEqualityComparer.Instance);

    public RouteTable(BatonOptions options)
        : this(options.Routes, options.DefaultPool)
    {
        _listeners = options.Listeners;
        IReadOnlyList<(string Key, ClientCertificateOptions Options)> policies = ClientCertificatePolicies.From(options);
        for (int i = 0; i < policies.Count; i++)
            _clientCertificateNumbers[policies[i].Options] = i + 1;
    }

    /// <summary>
    /// The number of the client-certificate setting a connection's handshake applies (0: none): that of the first route its
    /// listener and SNI match, when that route sets one, else its listener's. A route by Host or path cannot (validation), and
    /// the request it would need comes after the handshake: there the listener's applies.
    /// </summary>
    public int ClientCertificatePolicy(string listener, string? serverName)
    {
        foreach (RouteOptions route in _routes)
        {
            if (!MatchesConnection(route, listener, serverName))
                continue;
            if (!route.NeedsRequest && route.ClientCertificates is ClientCertificateOptions own)
                return _clientCertificateNumbers.GetValueOrDefault(own);
            break;
        }
        ClientCertificateOptions? listenerPolicy = _listeners.FirstOrDefault(l => l.Name == listener)?.ClientCertificates;
        return listenerPolicy is null ? 0 : _clientCertificateNumbers.GetValueOrDefault(listenerPolicy);
    }

    /// <param name="routes">Tried in order.</param>
    /// <param name="defaultPool">The pool when no route matches.</param>
    public RouteTable(IReadOnlyList<RouteOptions> routes, string defaultPool)
    {
        _routes = routes;
        _defaultPool = defaultPool;
        _listeners = [];
    }

    /// <summary>The routes, in order (what a worker is sent).</summary>
    public IReadOnlyList<RouteOptions> Routes => _routes;

    /// <summary>The pool when no route matches.</summary>
    public string DefaultPool => _defaultPool;

    /// <summary>Some route reads the request's Host or path: a later request on a connection may belong to another pool.</summary>
    public bool NeedsRequest => _needsRequest ??= _routes.Any(r => r.NeedsRequest);

    private bool? _needsRequest;

    /// <summary>The pool for a connection whose request is not read yet; null when a Host/path route may apply.</summary>
    public string? SelectBeforeRequest(string listener, string? serverName)
    {
        foreach (RouteOptions route in _routes)
        {
            if (!MatchesConnection(route, listener, serverName))
                continue;
            return route.NeedsRequest ? null : route.Pool;
        }
        return _defaultPool;
    }

    /// <summary>
    /// Every pool <see cref="SelectBeforeRequest"/> may answer for this listener, whatever the server name: the front
    /// must read the hello itself (peek) only where one of them is a passthrough pool.
    /// </summary>
    public IEnumerable<string> PoolsBeforeRequest(string listener)
    {
        foreach (RouteOptions route in _routes)
        {
            if (route.Listener is not null && route.Listener != listener)
                continue;
            if (!route.NeedsRequest)
                yield return route.Pool;
            if (route.ServerNames.Count == 0)
                yield break; // it matches every name: no later route and not the default is reached before the request
        }
        yield return _defaultPool;
    }

    /// <summary>The pool once the first request's Host and normalized path are known.</summary>
    public string SelectWithRequest(string listener, string? serverName, string? host, string? path)
    {
        foreach (RouteOptions route in _routes)
        {
            if (!MatchesConnection(route, listener, serverName))
                continue;
            if (route.Hosts.Count > 0 && (host is null || !route.Hosts.Any(pattern => HostPattern.Matches(pattern, host))))
                continue;
            if (route.PathPrefix is not null && (path is null || !path.StartsWith(route.PathPrefix, StringComparison.OrdinalIgnoreCase)))
                continue;
            return route.Pool;
        }
        return _defaultPool;
    }

    private static bool MatchesConnection(RouteOptions route, string listener, string? serverName) =>
        (route.Listener is null || route.Listener == listener)
        && (route.ServerNames.Count == 0
            || (serverName is not null && route.ServerNames.Any(pattern => HostPattern.Matches(pattern, serverName))));
}
