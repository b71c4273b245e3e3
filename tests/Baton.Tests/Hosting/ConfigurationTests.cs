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
        options.Certificates.Add(new CertificateOptions { CertificateFile = "/nonexistent.pem", KeyFile = "/nonexistent.key" });

        IReadOnlyList<string> errors = BatonOptionsValidator.Validate(options);

        Assert.Contains(errors, e => e.StartsWith("Baton:Listeners:0:Address: 'localhost'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Pools:default:Workers: must be between 1 and 256 (got 0)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:0:Pool: names pool 'missing'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:0:ServerNames:0:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Routes:1:Pool: routes by Host or path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Limits:DispatchTimeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Certificates:0:CertificateFile:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Baton:Certificates:0:KeyFile:", StringComparison.Ordinal));
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
        FrontProgram.Apply(options, new FrontOverrides { Listen = ["0.0.0.0:443", "[::1]:8443"], Workers = 3, Mode = HandoffMode.Handoff });
        Assert.Equal(["0.0.0.0:443", "[::1]:8443"], options.Listeners.Select(l => l.Address));
        Assert.All(options.Pools.Values, pool => Assert.Equal((3, HandoffMode.Handoff), (pool.Workers, pool.Mode)));
    }

    [Fact]
    public async Task TheCliRefusesABadConfigurationWithOneLinePerProblem()
    {
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--workers", "0", "--listen", "nowhere"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Baton:Pools:default:Workers: must be between 1 and 256 (got 0)", result.StandardError);
        Assert.Contains("Baton:Listeners:0:Address: 'nowhere'", result.StandardError);
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
