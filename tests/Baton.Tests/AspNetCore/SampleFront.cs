using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.AspNetCore;

/// <summary>A real `baton serve` whose only pool runs samples/HelloWorker (built next to the tests), and clients for it.</summary>
internal static class SampleFront
{
    public const string Pool = "hello";

    /// <summary>samples/HelloWorker/bin/&lt;configuration&gt;/net10.0/HelloWorker, found from the test output folder.</summary>
    public static string HelloWorkerPath
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            string framework = output.Name, configuration = output.Parent!.Name;
            DirectoryInfo root = output.Parent.Parent!.Parent!.Parent!.Parent!;
            string path = Path.Combine(root.FullName, "samples", "HelloWorker", "bin", configuration, framework, "HelloWorker");
            Assert.True(File.Exists(path), $"the sample app is not built at {path}");
            return path;
        }
    }

    /// <summary>Starts the front with two pre-spawned HelloWorker workers in <paramref name="mode"/>.</summary>
    public static async Task<BatonFront> StartAsync(string mode, int workers = 2)
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-sample-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { [Pool] = new { Workers = workers, Mode = mode, Command = HelloWorkerPath } },
                DefaultPool = Pool,
            },
        }));
        try
        {
            return await BatonFront.StartAsync(["--config", config]);
        }
        finally
        {
            File.Delete(config);
        }
    }

    /// <summary>An HttpClient for <paramref name="version"/> exactly, trusting any certificate, at most <paramref name="connections"/> connections.</summary>
    public static HttpClient CreateClient(Version version, int connections = int.MaxValue)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }
}
