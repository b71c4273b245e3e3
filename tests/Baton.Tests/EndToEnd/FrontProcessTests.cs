using Baton.Tests.Infrastructure;
using Baton.Tests.Tls;

namespace Baton.Tests.EndToEnd;

/// <summary>A running front: signals it must survive, what its workers inherit, what it warns about at start.</summary>
public sealed class FrontProcessTests
{
    /// <summary>Without a configuration file SIGHUP still reloads (flags and environment), and keeps the certificate made in memory.</summary>
    [Fact]
    public async Task SighupReloadsAndTheFrontKeepsServingItsSelfSignedCertificate()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"]);
        string serial;
        await using (TlsRequester before = await TlsRequester.ConnectAsync(front.Port))
            serial = before.Serial;

        front.Signal(Interop.Libc.SIGHUP);

        await front.WaitForOutputAsync("reload (SIGHUP): generation 2 serving new connections");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port), "pool"));
        await using (TlsRequester after = await TlsRequester.ConnectAsync(front.Port))
            Assert.Equal(serial, after.Serial);
        Assert.True(ProcFs.IsAlive(front.Pid));
    }

    /// <summary>The workers are processes named baton too, so `dotnet-counters monitor -n baton` may pick one: the ready line names the front.</summary>
    [Fact]
    public async Task TheReadyLineNamesTheFrontsPid()
    {
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1"]);
        string ready = await front.WaitForOutputAsync("baton ready:");
        Assert.Contains($"; front pid={front.Pid}; workers: default=[{front.InitialWorkers["default"].Single()}]", ready);
    }

    [Fact]
    public async Task WorkersGetACleanEnvironmentWithThePoolsOwnVariables()
    {
        // Configured through its environment, the front holds the key file's path there; its workers must not.
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile key = TempFile.WithBytes(TestCertificates.Localhost.PrivateKeyPem);
        await using BatonFront front = await BatonFront.StartAsync(["--workers", "1", "--mode", "passthrough"], new Dictionary<string, string>
        {
            ["Baton__Certificates__0__CertificateFile"] = chain.Path,
            ["Baton__Certificates__0__KeyFile"] = key.Path,
            ["Baton__Pools__default__Environment__GREETING"] = "hello",
            ["BATON_TEST_CANARY"] = "front only",
        });
        int worker = Assert.Single(front.InitialWorkers["default"]);

        string[] environment = ProcFs.Environment(worker).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains("GREETING=hello", environment);
        Assert.Contains("BATON_POOL=default", environment);
        Assert.Contains(environment, variable => variable.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.DoesNotContain(environment, variable => variable.StartsWith("Baton__", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(environment, variable => variable.StartsWith("BATON_TEST_CANARY=", StringComparison.Ordinal));
        Assert.Equal(worker, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
    }

    [Fact]
    public async Task AHostRouteWithoutServerNamesIsWarnedAtStartToTurnHttp2Off()
    {
        using TempFile config = TempFile.Config(new
        {
            Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
            Pools = new { api = new { Workers = 1, Mode = "handoff" } },
            Routes = new[] { new { PathPrefix = "/api/", Pool = "api" } },
            DefaultPool = "api",
        });

        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);

        Assert.Contains("configuration: Baton:Routes:0: routes by Host or path without ServerNames", front.Output);
        Assert.Contains("HTTP/2 is off for them", front.Output);
    }
}
