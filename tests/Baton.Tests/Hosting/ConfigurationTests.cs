using Baton.Tests.Infrastructure;

namespace Baton.Tests.Hosting;

public sealed class ConfigurationTests
{
    private static BatonOptions Defaults()
    {
        var options = new BatonOptions();
        BatonOptionsValidator.ApplyDefaults(options);
        return options;
    }

    [Fact]
    public void TheEmbeddedDefaultIsOneListenerAndOnePoolOfTwo()
    {
        BatonOptions options = Defaults();
        Assert.Equal("127.0.0.1:8443", Assert.Single(options.Listeners).Address);
        Assert.Equal(2, Assert.Single(options.Pools).Value.Workers);
        Assert.Empty(BatonOptionsValidator.Validate(options));
    }

    [Fact]
    public void EveryProblemIsReportedWithItsKey()
    {
        BatonOptions options = Defaults();
        options.Listeners[0].Address = "localhost";
        options.Pools["default"].Workers = 0;
        options.Routes.Add(new RouteOptions { ServerNames = ["bad name"], Pool = "missing" });
        options.Routes.Add(new RouteOptions { PathPrefix = "/api", Pool = "default" });
        options.Limits.DispatchTimeout = TimeSpan.Zero;
        options.EventLoops = BatonOptions.MaxEventLoops + 1;
        options.Certificates.Add(new CertificateOptions { CertificateFile = "/nonexistent.pem", KeyFile = "/nonexistent.key" });

        IReadOnlyList<string> errors = BatonOptionsValidator.Validate(options);

        Assert.Contains(errors, e => e.StartsWith("Baton:Listeners:0:Address: 'localhost'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:default:Workers: must be between 1 and 256 (got 0)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:0:Pool: names pool 'missing'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:0:ServerNames:0:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:1:Pool: routes by Host or path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Limits:DispatchTimeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:EventLoops: must be between 0 (one per core) and 256 (got 257)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Certificates:0:CertificateFile:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Certificates:0:KeyFile:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("api/", "must start with '/'")]
    [InlineData("/api?x", "no '?' or '#'")]
    [InlineData("/caf%C3%A9/", "write the characters, not their %XX escapes")]
    [InlineData("/a%2fb/", "write the characters, not their %XX escapes")]
    [InlineData("/api/../x", "no '.' or '..' segments")]
    [InlineData("/./api", "no '.' or '..' segments")]
    [InlineData("/api/.", "no '.' or '..' segments")]
    [InlineData("/café/", null)]
    [InlineData("/100%/", null)]
    [InlineData("/a.b/..c/", null)]
    public void APathPrefixIsWrittenAsTheApplicationSeesThePath(string prefix, string? problem)
    {
        BatonOptions options = Defaults();
        options.Pools["default"].Mode = HandoffMode.Handoff;
        options.Routes.Add(new RouteOptions { PathPrefix = prefix, Pool = "default" });
        string[] errors = BatonOptionsValidator.Validate(options).Where(e => e.StartsWith("Baton:Routes:0:PathPrefix:", StringComparison.Ordinal)).ToArray();
        if (problem is null)
            Assert.Empty(errors);
        else
            Assert.Contains(problem, Assert.Single(errors));
    }

    [Theory]
    [InlineData("00:00:00", true)]
    [InlineData("00:00:00.099", true)]
    [InlineData("-00:00:01", true)]
    [InlineData("00:00:00.1", false)]
    [InlineData("00:00:05", false)]
    public void AWorkerResponseTimeoutMustLeaveRoomForAGarbageCollection(string value, bool refused)
    {
        BatonOptions options = Defaults();
        options.Limits.WorkerResponseTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        IEnumerable<string> errors = BatonOptionsValidator.Validate(options).Where(e => e.StartsWith("Baton:Limits:WorkerResponseTimeout:", StringComparison.Ordinal));
        Assert.Equal(refused, errors.Any(e => e.Contains("must be at least 00:00:00.1000000", StringComparison.Ordinal)));
        Assert.Equal(refused, errors.Any());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(79)]
    [InlineData(65 * 80)]
    public void ATicketKeyFileMustHoldWholeKeys(int length)
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, new byte[length]);
            BatonOptions options = Defaults();
            options.SessionTickets.KeyFile = file;
            Assert.Contains(BatonOptionsValidator.Validate(options), e => e.StartsWith("Baton:SessionTickets:KeyFile: must hold 1..64 keys", StringComparison.Ordinal));
            File.WriteAllBytes(file, new byte[160]);
            Assert.DoesNotContain(BatonOptionsValidator.Validate(options), e => e.Contains("SessionTickets", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(17)]
    public void TicketsPerHandshakeIsZeroToSixteenAndTwoByDefault(int count)
    {
        BatonOptions options = Defaults();
        Assert.Equal(2, options.SessionTickets.TicketsPerHandshake);
        options.SessionTickets.TicketsPerHandshake = count;
        Assert.Contains($"Baton:SessionTickets:TicketsPerHandshake: must be between 0 and 16 (got {count})", BatonOptionsValidator.Validate(options));
        options.SessionTickets.TicketsPerHandshake = Math.Clamp(count, 0, 16);
        Assert.Empty(BatonOptionsValidator.Validate(options));
    }

    [Fact]
    public void FlagsReplaceListenersAndApplyToEveryPool()
    {
        BatonOptions options = Defaults();
        options.Pools["other"] = new PoolOptions();
        FrontConfiguration.Apply(options, new FrontOverrides { Listen = ["0.0.0.0:443", "[::1]:8443"], Workers = 3, Mode = HandoffMode.Handoff });
        Assert.Equal(["0.0.0.0:443", "[::1]:8443"], options.Listeners.Select(l => l.Address));
        Assert.All(options.Pools.Values, pool => Assert.Equal((3, HandoffMode.Handoff), (pool.Workers, pool.Mode)));
    }

    [Fact]
    public void ListenReplacesAddressesButKeepsTheListenersRoutesName()
    {
        var options = new BatonOptions
        {
            Listeners = [new ListenerOptions { Name = "https", Address = "0.0.0.0:443", ProxyProtocol = true }],
            Pools = new() { ["default"] = new PoolOptions(), ["api"] = new PoolOptions() },
            Routes = [new RouteOptions { Listener = "https", ServerNames = ["api.example.com"], Pool = "api" }],
        };

        Assert.Empty(FrontConfiguration.Apply(options, new FrontOverrides { Listen = ["127.0.0.1:0"] }));
        BatonOptionsValidator.ApplyDefaults(options);

        Assert.Equal(("https", "127.0.0.1:0", true), (options.Listeners[0].Name, options.Listeners[0].Address, options.Listeners[0].ProxyProtocol));
        Assert.Empty(BatonOptionsValidator.Validate(options));
    }

    [Fact]
    public void ListenCannotRemoveAListenerARouteNames()
    {
        var options = new BatonOptions
        {
            Listeners = [new ListenerOptions { Name = "public", Address = "0.0.0.0:443" }, new ListenerOptions { Name = "behind-lb", Address = "127.0.0.1:8444" }],
            Routes = [new RouteOptions { Listener = "behind-lb", Pool = "default" }],
        };

        IReadOnlyList<string> problems = FrontConfiguration.Apply(options, new FrontOverrides { Listen = ["127.0.0.1:0"] });

        Assert.Equal(
            "--listen: 1 address(es) for 2 configured listeners (public, behind-lb) would remove behind-lb, which Baton:Routes:0:Listener names; give one --listen per configured listener, in order",
            Assert.Single(problems));
        Assert.Equal(["0.0.0.0:443", "127.0.0.1:8444"], options.Listeners.Select(l => l.Address));
    }

    [Fact]
    public void AHostRouteWithAPassthroughPoolAfterItIsRefusedWithTheReason()
    {
        BatonOptions options = Defaults();
        options.Pools["api"] = new PoolOptions { Mode = HandoffMode.Handoff };
        options.Routes.Add(new RouteOptions { Hosts = ["api.example.com"], Pool = "api" });
        options.Routes.Add(new RouteOptions { PathPrefix = "/api/", Pool = "api" });

        Assert.Equal(
            "Baton:DefaultPool: pool 'default' is in passthrough mode, so requests that Routes:0 (by Host or path) does not match would be answered 421: "
                + "the front has already terminated their TLS and can hand them only to a handoff or proxy pool. Name one of those here",
            Assert.Single(BatonOptionsValidator.Validate(options)));

        // A later route that takes every connection the Host route saw decides instead of DefaultPool.
        options.Routes.Add(new RouteOptions { Pool = "api" });
        Assert.Empty(BatonOptionsValidator.Validate(options));
        options.Routes[^1].Pool = "default";
        Assert.StartsWith("Baton:Routes:2:Pool: pool 'default' is in passthrough mode", Assert.Single(BatonOptionsValidator.Validate(options)));
    }

    [Fact]
    public void AFrontRunningAsRootWarnsOfEveryPoolWhoseWorkersWouldToo()
    {
        BatonOptions options = Defaults();
        options.Pools["web"] = new PoolOptions { User = "nobody" };
        Assert.Empty(BatonOptionsValidator.WorkerUserWarnings(options, frontIsRoot: false));
        Assert.Equal(
            "Baton:Pools:default: its workers run as root, the front's user, so they can read the key files; set Pools:default:User to an unprivileged user (e.g. nobody)",
            Assert.Single(BatonOptionsValidator.WorkerUserWarnings(options, frontIsRoot: true)));
    }

    [Fact]
    public void AHostRouteWithoutServerNamesIsWarnedToTurnHttp2Off()
    {
        BatonOptions options = Defaults();
        options.DefaultPool = "api";
        options.Pools["api"] = new PoolOptions { Mode = HandoffMode.Handoff };
        options.Routes.Add(new RouteOptions { ServerNames = ["shop.example.com"], PathPrefix = "/cart/", Pool = "api" });
        Assert.Empty(BatonOptionsValidator.Warnings(options));

        options.Routes.Add(new RouteOptions { Hosts = ["api.example.com"], Pool = "api" });
        options.Routes.Add(new RouteOptions { PathPrefix = "/v2/", Pool = "api" });

        Assert.Empty(BatonOptionsValidator.Validate(options));
        Assert.Equal(
            "Baton:Routes:1: routes by Host or path without ServerNames, so on every listener every connection that no earlier route takes is routed "
                + "on its first HTTP/1.1 request: HTTP/2 is off for them. List the route's ServerNames to keep HTTP/2 for the other names",
            Assert.Single(BatonOptionsValidator.Warnings(options)));
        foreach (PoolOptions pool in options.Pools.Values)
            pool.Alpn = ["http/1.1"];
        Assert.Empty(BatonOptionsValidator.Warnings(options));
    }

    [Fact]
    public void PoolEnvironmentCannotSetTheFrontsContractVariables()
    {
        BatonOptions options = Defaults();
        options.Pools["default"].Environment = new() { ["GREETING"] = "hello", ["BATON_POOL"] = "other", ["A=B"] = "1" };
        Assert.Equal(
            [
                "Baton:Pools:default:Environment:BATON_POOL: BATON_ variables are the front's contract with its workers and are set by the front",
                "Baton:Pools:default:Environment:A=B: a variable name must be non-empty without '=' or NUL, and its value without NUL",
            ],
            BatonOptionsValidator.Validate(options));
    }

    [Fact]
    public async Task TheCliRefusesABadConfigurationWithOneLinePerProblem()
    {
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--workers", "0", "--listen", "nowhere"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Baton:Pools:default:Workers: must be between 1 and 256 (got 0)", result.StandardError);
        Assert.Contains("Baton:Listeners:0:Address: 'nowhere'", result.StandardError);
    }

    [Theory]
    [InlineData("--workers", "abc", "baton: --workers: 'abc' is not a whole number")]
    [InlineData("--mode", "handof", "baton: --mode: 'handof' is not one of passthrough, handoff, proxy")]
    public async Task TheCliNamesTheFlagAndTheValueNotADotNetType(string flag, string value, string expected)
    {
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", flag, value]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(expected, result.StandardError.Split('\n')[0]);
        Assert.DoesNotContain("System.", result.Output);
    }

    [Fact]
    public async Task TheCliAnswersVersionAndHelp()
    {
        ProcessResult version = await ChildProcess.RunAsync(BatonFront.Executable, ["--version"]);
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.StandardOutput);
        ProcessResult help = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--help"]);
        Assert.Contains("--mode", help.StandardOutput);
        Assert.Contains("--cert", help.StandardOutput);
    }
}
