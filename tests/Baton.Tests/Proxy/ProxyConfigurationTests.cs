using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>The proxy-mode keys of a pool: checked at start, each problem naming its key.</summary>
public sealed class ProxyConfigurationTests
{
    private static IReadOnlyList<string> Validate(Action<BatonOptions> configure)
    {
        var options = new BatonOptions();
        BatonOptionsValidator.ApplyDefaults(options);
        configure(options);
        return BatonOptionsValidator.Validate(options);
    }

    private static PoolOptions Proxy(params string[] backends) => new() { Mode = HandoffMode.Proxy, Backends = [.. backends] };

    [Fact]
    public void AProxyPoolWithBackendsIsValidAndNegotiatesNoAlpnByDefault()
    {
        Assert.Empty(Validate(o => o.Pools["default"] = Proxy("127.0.0.1:8080", "[::1]:8080", "app.internal:80", "/run/app.sock")));
        Assert.Empty(Proxy("127.0.0.1:1").EffectiveAlpn);
        Assert.Equal(FirstRequest.None, Proxy("127.0.0.1:1").EffectiveFirstRequest);
        Assert.Equal(FirstRequest.Http, new PoolOptions { Mode = HandoffMode.Handoff }.EffectiveFirstRequest);
    }

    [Fact]
    public void BackendAndBackendsAddUp()
    {
        var pool = Proxy("127.0.0.1:2");
        pool.Backend = "127.0.0.1:1";
        Assert.Equal(["127.0.0.1:1", "127.0.0.1:2"], pool.EffectiveBackends);
    }

    [Theory]
    [InlineData("localhost", "Baton:Pools:default:Backends:0: 'localhost' is not host:port")]
    [InlineData("127.0.0.1:0", "Baton:Pools:default:Backends:0: '127.0.0.1:0' is not host:port")]
    [InlineData("relative.sock", "Baton:Pools:default:Backends:0: 'relative.sock' is not host:port")]
    [InlineData("*.example.com:80", "Baton:Pools:default:Backends:0: '*.example.com:80' is not host:port")]
    public void ABadBackendIsNamed(string backend, string expected)
    {
        Assert.Contains(Validate(o => o.Pools["default"] = Proxy(backend)), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void EveryProxyProblemIsReportedWithItsKey()
    {
        IReadOnlyList<string> errors = Validate(o =>
        {
            o.Pools["default"] = new PoolOptions { Mode = HandoffMode.Proxy };
            o.Pools["default"].Relay.ConnectTimeout = TimeSpan.Zero;
            o.Pools["default"].Relay.MaxRetryBackoff = TimeSpan.FromMilliseconds(10);
            o.Pools["web"] = new PoolOptions { Mode = HandoffMode.Handoff, Backend = "127.0.0.1:80" };
            o.Pools["tls"] = new PoolOptions { FirstRequest = FirstRequest.None };
        });
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:default:Backend: a proxy pool needs a Backend", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:default:Relay:ConnectTimeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:default:Relay:MaxRetryBackoff:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:web:Backend: backends belong to proxy pools", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:tls:FirstRequest:", StringComparison.Ordinal));
    }

    [Fact]
    public void HostAndPathRoutesMayPickProxyPools()
    {
        Assert.Empty(Validate(o =>
        {
            o.Pools["default"] = new PoolOptions { Mode = HandoffMode.Handoff };
            o.Pools["legacy"] = Proxy("127.0.0.1:8080");
            o.Routes.Add(new RouteOptions { PathPrefix = "/legacy/", Pool = "legacy" });
        }));
    }

    [Fact]
    public void TheFileFormIsChecked()
    {
        using TempFile file = TempFile.WithText("""
            { "Baton": { "Pools": { "default": { "Mode": "proxy", "Backend": "127.0.0.1:8080", "FirstRequest": "nothing",
              "Relay": { "SendProxyProtocol": true, "ConectTimeout": "00:00:01" } } } } }
            """);
        (_, BatonOptions? options, IReadOnlyList<string> problems) = FrontConfiguration.Load(file.Path, new FrontOverrides());
        Assert.Null(options);
        Assert.Contains(problems, p => p.Contains("Baton:Pools:default:FirstRequest", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Baton:Pools:default:Relay:ConectTimeout", StringComparison.Ordinal) && p.Contains("ConnectTimeout", StringComparison.Ordinal));
    }
}
