using Baton.Hosting;

namespace Baton.Front;

/// <summary>
/// Picks a pool for a connection from its listener and SNI: the first route whose listener and
/// server-name patterns match wins; otherwise the default pool.
/// </summary>
internal sealed class Router
{
    private readonly IReadOnlyList<RouteOptions> _routes;
    private readonly string _defaultPool;

    public Router(BatonOptions options)
    {
        _routes = options.Routes;
        _defaultPool = options.DefaultPool;
    }

    public string SelectPool(string listener, string? serverName)
    {
        foreach (RouteOptions route in _routes)
        {
            if (route.Listener is not null && route.Listener != listener)
                continue;
            if (route.ServerNames.Count == 0)
                return route.Pool;
            if (serverName is not null && route.ServerNames.Any(pattern => HostPattern.Matches(pattern, serverName)))
                return route.Pool;
        }
        return _defaultPool;
    }
}
