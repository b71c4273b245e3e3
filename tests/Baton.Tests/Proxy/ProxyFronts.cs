using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>
/// One real front with a proxy pool per kind of backend, routed by SNI (the name is the pool's), its backends real
/// sockets: python3 http.server (the default pool, behind a dead backend listed first), a plain nginx on a Unix socket,
/// an echo server, a greeter
/// that speaks first, a python PROXY v2 reader, a backend that resets, one that hangs (short and default idle
/// timeouts), one that closes its write side first, a pool whose only backend is down; and a handoff pool with "FirstRequest": "none" (the built-in worker).
/// </summary>
public sealed class ProxyFronts : IAsyncLifetime
{
    public const string PageText = "proxied through Baton\n";

    private readonly List<IAsyncDisposable> _backends = [];
    private Socket? _dead;
    private string? _directory;
    private TempFile? _config;

    private readonly System.Threading.Channels.Channel<string> _halfCloseReports = System.Threading.Channels.Channel.CreateUnbounded<string>();

    public BatonFront Front { get; private set; } = null!;

    /// <summary>What the half-closing backend saw at the end of its next connection ("eof N", "reset N").</summary>
    public async Task<string> NextHalfCloseReportAsync() =>
        await _halfCloseReports.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    public int DeadPort { get; private set; }

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("baton-proxy-").FullName;
        File.WriteAllText(Path.Combine(_directory, "page.txt"), PageText);
        _dead = ProxyBackends.DeadPort();
        DeadPort = ((IPEndPoint)_dead.LocalEndPoint!).Port;
        PythonBackend http = Keep(await ProxyBackends.HttpServerAsync(_directory));
        PythonBackend proxyV2 = Keep(await ProxyBackends.ProxyV2ReaderAsync());
        NginxBackend nginx = Keep(await NginxBackend.StartAsync(_directory));
        string Local(int port) => $"127.0.0.1:{port}";
        var pools = new Dictionary<string, object>
        {
            ["default"] = Pool(Local(DeadPort), Local(http.Port)),
            ["nginx"] = new { Workers = 1, Mode = "proxy", Backend = nginx.SocketPath },
            ["echo"] = Pool(Local(Keep(ProxyBackends.Echo()).Port)),
            ["greet"] = Pool(Local(Keep(ProxyBackends.Greeter()).Port)),
            ["pp2"] = new { Workers = 1, Mode = "proxy", Backend = Local(proxyV2.Port), Alpn = new[] { "x-test", "http/1.1" }, Relay = new { SendProxyProtocol = true } },
            ["reset"] = Pool(Local(Keep(ProxyBackends.Resetter()).Port)),
            ["idle"] = new { Workers = 1, Mode = "proxy", Backend = Local(Keep(ProxyBackends.Silent()).Port), Relay = new { BackendIdleTimeout = "00:00:01" } },
            ["slow"] = Pool(Local(Keep(ProxyBackends.Silent()).Port)),
            ["full"] = new { Workers = 1, Mode = "proxy", MaxConnectionsPerWorker = 1, Backend = Local(Keep(ProxyBackends.Silent()).Port) },
            ["halfclose"] = Pool(Local(Keep(ProxyBackends.HalfCloser(_halfCloseReports.Writer)).Port)),
            ["down"] = new { Workers = 1, Mode = "proxy", Backend = Local(DeadPort), Relay = new { ConnectTimeout = "00:00:02" } },
            ["hold"] = new { Workers = 1, Mode = "handoff", FirstRequest = "none" },
        };
        _config = TempFile.WithText(JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
                Pools = pools,
                // paths.test: the front reads the first request and routes on its path; /echo/ goes to the echo pool.
                Routes = (object[])[
                    new { ServerNames = new[] { "paths.test" }, PathPrefix = "/echo/", Pool = "echo" },
                    .. pools.Keys.Where(name => name != "default").Select(name => new { ServerNames = new[] { $"{name}.test" }, Pool = name }),
                ],
            },
        }));
        Front = await BatonFront.StartAsync(["--config", _config.Path]);
    }

    private static object Pool(params string[] backends) => new { Workers = 1, Mode = "proxy", Backends = backends };

    private T Keep<T>(T backend) where T : IAsyncDisposable
    {
        _backends.Add(backend);
        return backend;
    }

    public async Task DisposeAsync()
    {
        if (Front is not null) await Front.DisposeAsync();
        foreach (IAsyncDisposable backend in _backends) await backend.DisposeAsync();
        _dead?.Dispose();
        _config?.Dispose();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }
}
