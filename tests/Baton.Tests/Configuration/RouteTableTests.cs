
namespace Baton.Tests.Configuration;

public sealed class RouteTableTests
{
    private static RouteTable Create() => new(new BatonOptions
    {
        DefaultPool = "default",
        Routes =
        [
            new RouteOptions { Listener = "internal", Pool = "internal" },
            new RouteOptions { ServerNames = ["a.example", "*.a.example"], Pool = "a" },
            new RouteOptions { ServerNames = ["api.example"], PathPrefix = "/v2/", Pool = "v2" },
            new RouteOptions { ServerNames = ["api.example"], Pool = "v1" },
            new RouteOptions { Hosts = ["shop.example"], Pool = "shop" },
        ],
    });

    [Theory]
    [InlineData("public", "a.example", "a")]
    [InlineData("public", "x.a.example", "a")]
    [InlineData("public", "x.y.a.example", null)]
    [InlineData("public", "A.EXAMPLE", "a")]
    [InlineData("internal", "a.example", "internal")]
    [InlineData("public", "api.example", null)]
    [InlineData("public", null, null)]
    public void BeforeTheRequestOnlyListenerAndSniDecide(string listener, string? sni, string? expected) =>
        Assert.Equal(expected, Create().SelectBeforeRequest(listener, sni));

    [Theory]
    [InlineData("api.example", "api.example", "/v2/items", "v2")]
    [InlineData("api.example", "api.example", "/V2/items", "v2")]
    [InlineData("api.example", "api.example", "/v2", "v1")]
    [InlineData("api.example", "api.example", "/v1/items", "v1")]
    [InlineData("b.example", "shop.example", "/", "shop")]
    [InlineData("b.example", "other.example", "/", "default")]
    [InlineData(null, null, "/", "default")]
    public void WithTheRequestHostAndPathDecide(string? sni, string? host, string path, string expected) =>
        Assert.Equal(expected, Create().SelectWithRequest("public", sni, host, path));
}

public sealed class RouterPoolsBeforeRequestTests
{
    /// <summary>
    /// The pools a listener's connections may reach before the request, whatever their SNI: where none of them is a
    /// passthrough pool the front lets libssl read the hello instead of peeking.
    /// </summary>
    [Theory]
    [InlineData("internal", new[] { "internal" })] // a catch-all route ends the search: the default is never reached
    [InlineData("public", new[] { "a", "v1" })] // the Host/path route for every name takes the rest into the handshake
    [InlineData("other", new[] { "a", "v1", "default" })]
    public void EveryPoolARouteOrTheDefaultMayGiveIsListed(string listener, string[] expected)
    {
        var router = new RouteTable(new BatonOptions
        {
            DefaultPool = "default",
            Routes =
            [
                new RouteOptions { Listener = "internal", Pool = "internal" },
                new RouteOptions { ServerNames = ["a.example"], Pool = "a" },
                new RouteOptions { ServerNames = ["api.example"], PathPrefix = "/v2/", Pool = "v2" },
                new RouteOptions { ServerNames = ["api.example"], Pool = "v1" },
                new RouteOptions { Listener = "public", Hosts = ["shop.example"], Pool = "shop" },
            ],
        });
        Assert.Equal(expected, router.PoolsBeforeRequest(listener));
    }
}
