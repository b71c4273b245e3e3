using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Baton.Tests.Infrastructure;
using Baton.Tls;

namespace Baton.Tests.EndToEnd;

/// <summary>Reload of a real front: what it refuses (and then changes nothing), and what it adds and removes.</summary>
public sealed class ReloadTests
{
    private static Dictionary<string, object> OnePool(string mode = "passthrough") => new()
    {
        ["Pools"] = new Dictionary<string, object> { ["default"] = new { Workers = 1, Mode = mode } },
    };

    [Fact]
    public async Task AnInvalidConfigurationChangesNothingAndNamesItsKey()
    {
        using ReloadSite site = ReloadSite.Create(OnePool());
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);
        string serial = ReloadSite.Serial(await File.ReadAllBytesAsync(site.CertificateFile));

        site.WriteRawConfig("""{ "Baton": { "Limits": { "HandshakeTimout": "00:00:05" } } }""");
        ProcessResult unknownKey = await front.ControlAsync("reload");
        Assert.Equal(1, unknownKey.ExitCode);
        Assert.Contains("reload refused, nothing changed", unknownKey.StandardError);
        Assert.Contains("Baton:Limits:HandshakeTimout: unknown key; did you mean 'HandshakeTimeout'?", unknownKey.StandardError);
        await front.WaitForOutputAsync("refused, nothing changed: Baton:Limits:HandshakeTimout");

        // A key that is not the certificate's: the whole reload is refused, the certificate in use stays.
        site.WriteConfig(OnePool());
        await File.WriteAllBytesAsync(site.KeyFile, SelfSignedCertificate.Create().PrivateKeyPem);
        ProcessResult mismatch = await front.ControlAsync("reload");
        Assert.Equal(1, mismatch.ExitCode);
        Assert.Contains("Baton:Certificates:0:KeyFile: the key in", mismatch.StandardError);

        await using (TlsRequester connection = await TlsRequester.ConnectAsync(front.Port))
        {
            Assert.Equal(serial, connection.Serial);
            Assert.Contains("Hello from Baton.", await connection.GetAsync());
        }
        JsonNode status = await StatusAsync(front);
        Assert.Equal(1, (int)status["generation"]!);
        Assert.False((bool)status["lastReload"]!["applied"]!);
    }

    /// <summary>A connection the front accepted before the reload, still waiting for its ClientHello, finishes on the old certificate.</summary>
    [Fact]
    public async Task AConnectionAcceptedBeforeTheReloadIsServedWhatItStartedWith()
    {
        // Time enough for the reload while the early connection has not sent its hello.
        Dictionary<string, object> config = OnePool("handoff");
        config["Limits"] = new { ClientHelloTimeout = "00:01:00" };
        using ReloadSite site = ReloadSite.Create(config);
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);
        string before = ReloadSite.Serial(await File.ReadAllBytesAsync(site.CertificateFile));
        using var early = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await early.ConnectAsync(IPAddress.Loopback, front.Port);
        await Wait.UntilAsync(() => InFront(front) == 1, "the front holds the early connection");

        string after = site.ReplaceCertificate();
        Assert.Equal(0, (await front.ControlAsync("reload")).ExitCode);

        await using var tls = new System.Net.Security.SslStream(new NetworkStream(early, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            AllowTlsResume = false,
        });
        Assert.Equal(before, new System.Security.Cryptography.X509Certificates.X509Certificate2(tls.RemoteCertificate!).SerialNumber);
        await using TlsRequester later = await TlsRequester.ConnectAsync(front.Port);
        Assert.Equal(after, later.Serial);
    }

    private static int InFront(BatonFront front) =>
        (int)StatusAsync(front).GetAwaiter().GetResult()["connections"]!["inFront"]!;

    [Fact]
    public async Task SighupReloadsAsBatonReloadDoes()
    {
        using ReloadSite site = ReloadSite.Create(OnePool("handoff"));
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);

        string serial = site.ReplaceCertificate();
        front.Signal(Interop.Libc.SIGHUP);

        await front.WaitForOutputAsync("reload (SIGHUP): generation 2 serving new connections");
        await using TlsRequester connection = await TlsRequester.ConnectAsync(front.Port);
        Assert.Equal(serial, connection.Serial);
        Assert.False(front.HasExited);
    }

    [Fact]
    public async Task ListenersAndPoolsAreAddedAndRemoved()
    {
        int first = FreePort(), second = FreePort();
        Dictionary<string, object> Config(bool both) => new()
        {
            ["Listeners"] = both
                ? new object[] { new { Name = "first", Address = $"127.0.0.1:{first}" }, new { Name = "second", Address = $"127.0.0.1:{second}" } }
                : new object[] { new { Name = "first", Address = $"127.0.0.1:{first}" } },
            ["Pools"] = both
                ? new Dictionary<string, object> { ["default"] = new { Workers = 1 }, ["extra"] = new { Workers = 1 } }
                : new Dictionary<string, object> { ["default"] = new { Workers = 1 } },
            ["Routes"] = both ? new object[] { new { Listener = "second", Pool = "extra" } } : Array.Empty<object>(),
        };
        using ReloadSite site = ReloadSite.Create(Config(both: false));
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config]);

        site.WriteConfig(Config(both: true));
        ProcessResult added = await front.ControlAsync("reload");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Equal("extra", Clients.FactsField(await Clients.CurlAsync(second), "pool"));
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(first), "pool"));
        int extraWorker = (int)(await StatusAsync(front))["pools"]!.AsArray().Single(p => (string)p!["name"]! == "extra")!["running"]![0]!["pid"]!;
        front.CurrentWorkers();

        site.WriteConfig(Config(both: false));
        ProcessResult removed = await front.ControlAsync("reload");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        await front.WaitForOutputAsync("listener second on 127.0.0.1:");
        await Assert.ThrowsAnyAsync<SocketException>(() => ConnectAsync(second));
        await Wait.UntilAsync(() => !ProcFs.IsAlive(extraWorker), "the removed pool's worker has exited");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(first), "pool"));
        Assert.Single((await StatusAsync(front))["pools"]!.AsArray());
    }

    [Fact]
    public async Task WhatARunningPoolCannotChangeIsReportedAndLeftAsItRuns()
    {
        using ReloadSite site = ReloadSite.Create(OnePool());
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);

        site.WriteConfig(new()
        {
            ["Pools"] = new Dictionary<string, object> { ["default"] = new { Workers = 3, Mode = "handoff" } },
            ["Limits"] = new { MaxFrontConnections = 500, RequestHeadTimeout = "00:00:03" },
        });
        ProcessResult reload = await front.ControlAsync("reload");

        Assert.True(reload.ExitCode == 0, reload.ToString());
        // Workers alone would be a deploy (DeployTests); with Mode it is not, and neither changes.
        Assert.Contains("note: Baton:Pools:default: Workers, Mode changed; the pool keeps running as it was started", reload.StandardOutput);
        Assert.Contains("note: Baton:Limits:MaxFrontConnections changed; the front keeps 10000", reload.StandardOutput);
        Assert.DoesNotContain("RequestHeadTimeout", reload.StandardOutput);
        JsonNode status = await StatusAsync(front);
        Assert.Equal(1, (int)status["pools"]![0]!["workers"]!);
        Assert.Equal(2, (int)status["generation"]!);
    }

    /// <summary>
    /// Control:WatchCertificates with the files as Kubernetes mounts a secret: cert.pem → ..data/cert.pem, and ..data a
    /// symlink swapped (renamed over) to a new directory. The front reloads by itself once the files are quiet.
    /// </summary>
    [Fact]
    public async Task AWatchedCertificateSwappedByASymlinkIsReloaded()
    {
        using ReloadSite site = ReloadSite.Create(OnePool());
        string mount = Path.Combine(site.Directory, "mount");
        Directory.CreateDirectory(mount);
        string first = WriteVersion(mount, "v1", SelfSignedCertificate.Create());
        await LinkAsync(Path.Combine(mount, "..data"), first);
        File.CreateSymbolicLink(Path.Combine(mount, "cert.pem"), "..data/cert.pem");
        File.CreateSymbolicLink(Path.Combine(mount, "key.pem"), "..data/key.pem");
        site.WriteConfig(new()
        {
            ["Pools"] = new Dictionary<string, object> { ["default"] = new { Workers = 1 } },
            ["Control"] = new { WatchCertificates = true },
            ["Certificates"] = new[] { new { CertificateFile = Path.Combine(mount, "cert.pem"), KeyFile = Path.Combine(mount, "key.pem") } },
        });
        await using BatonFront front = await BatonFront.StartAsync(["--config", site.Config, "--listen", "127.0.0.1:0"]);

        SelfSignedCertificate renewed = SelfSignedCertificate.Create();
        await LinkAsync(Path.Combine(mount, "..data"), WriteVersion(mount, "v2", renewed));

        await front.WaitForOutputAsync("reload (certificate file changed): generation 2 serving new connections");
        await using TlsRequester connection = await TlsRequester.ConnectAsync(front.Port);
        Assert.Equal(ReloadSite.Serial(renewed.CertificatePem), connection.Serial);
    }

    private static string WriteVersion(string mount, string name, SelfSignedCertificate certificate)
    {
        string directory = Path.Combine(mount, $"..{name}");
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "cert.pem"), certificate.CertificatePem);
        File.WriteAllBytes(Path.Combine(directory, "key.pem"), certificate.PrivateKeyPem);
        return Path.GetFileName(directory);
    }

    /// <summary>
    /// Points <paramref name="link"/> at <paramref name="target"/> in one rename, as the kubelet does (`mv -T`: .NET's
    /// File.Move follows a link to a directory and finds no file).
    /// </summary>
    private static async Task LinkAsync(string link, string target)
    {
        string temporary = link + ".tmp";
        File.CreateSymbolicLink(temporary, target);
        ProcessResult moved = await ChildProcess.RunAsync("mv", ["-Tf", temporary, link]);
        Assert.True(moved.ExitCode == 0, moved.ToString());
    }

    private static async Task<JsonNode> StatusAsync(BatonFront front)
    {
        ProcessResult result = await front.ControlAsync("status", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonNode.Parse(result.StandardOutput)!;
    }

    private static async Task ConnectAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
