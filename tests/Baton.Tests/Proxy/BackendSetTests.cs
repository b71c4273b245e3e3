using System.Net;
using System.Net.Sockets;
using Baton.Relay;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>A relay's backends on real loopback sockets: a refusing one is skipped, probed with backoff and taken back.</summary>
public sealed class BackendSetTests
{
    private static RelaySettings Settings(params int[] ports) => new()
    {
        Backends = [.. ports.Select(p => $"127.0.0.1:{p}")],
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ClientIdleTimeout = TimeSpan.FromMinutes(1),
        BackendIdleTimeout = TimeSpan.FromMinutes(1),
        MaxRetryBackoff = TimeSpan.FromSeconds(2),
    };

    private static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    [Fact]
    public async Task ARefusingBackendIsSkippedThenTakenBackOnceItListens()
    {
        using Socket later = ProxyBackends.DeadPort();
        using var live = new TcpListener(IPAddress.Loopback, 0);
        live.Start();
        int livePort = ((IPEndPoint)live.LocalEndpoint).Port;
        var logger = new CollectingLogger();
        using var backends = new BackendSet(Settings(PortOf(later), livePort), logger, HandedOffSockets.Loop);

        for (int i = 0; i < 4; i++)
        {
            BackendSet.Connected connected = await backends.ConnectAsync(CancellationToken.None);
            using (connected.Socket)
                Assert.Equal($"127.0.0.1:{livePort}", connected.Name);
        }
        Assert.Single(logger.Lines, l => l.Message.Contains($"backend 127.0.0.1:{PortOf(later)} is down", StringComparison.Ordinal));

        // It starts listening: the probe (after 1 s) finds it, and connections go round both again.
        later.Listen();
        await Wait.UntilAsync(() => logger.Lines.Any(l => l.Message.Contains("is up again", StringComparison.Ordinal)), "the probe marks it up");
        var names = new HashSet<string>();
        for (int i = 0; i < 4; i++)
        {
            BackendSet.Connected connected = await backends.ConnectAsync(CancellationToken.None);
            using (connected.Socket)
                names.Add(connected.Name);
        }
        Assert.Equal(2, names.Count);
    }

    [Fact]
    public async Task WithEveryBackendDownTheErrorNamesEachAttempt()
    {
        using Socket first = ProxyBackends.DeadPort(), second = ProxyBackends.DeadPort();
        using var backends = new BackendSet(Settings(PortOf(first), PortOf(second)), new CollectingLogger(), HandedOffSockets.Loop);
        var refused = await Assert.ThrowsAsync<BackendUnavailableException>(() => backends.ConnectAsync(CancellationToken.None));
        Assert.Contains($"127.0.0.1:{PortOf(first)}: Connection refused", refused.Message);
        Assert.Contains($"127.0.0.1:{PortOf(second)}: Connection refused", refused.Message);
        // Still tried, both, while all are down: a backend that came back is found without waiting for its probe.
        first.Listen();
        BackendSet.Connected connected = await backends.ConnectAsync(CancellationToken.None);
        using (connected.Socket)
            Assert.Equal($"127.0.0.1:{PortOf(first)}", connected.Name);
    }

    [Theory]
    [InlineData("localhost", "127.0.0.1")]
    [InlineData("[::1]", "::1")]
    public async Task ANamedOrIPv6BackendIsReachedAndCarriesBytes(string host, string listenOn)
    {
        using var listener = new TcpListener(IPAddress.Parse(listenOn), 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var settings = new RelaySettings
        {
            Backends = [$"{host}:{port}"], ConnectTimeout = TimeSpan.FromSeconds(5), ClientIdleTimeout = TimeSpan.FromMinutes(1),
            BackendIdleTimeout = TimeSpan.FromMinutes(1), MaxRetryBackoff = TimeSpan.FromSeconds(2),
        };
        using var backends = new BackendSet(settings, new CollectingLogger(), HandedOffSockets.Loop);
        BackendSet.Connected connected = await backends.ConnectAsync(CancellationToken.None);
        using (connected.Socket)
        {
            using Socket accepted = await listener.AcceptSocketAsync();
            await connected.Socket.WriteAsync("ping"u8.ToArray());
            byte[] buffer = new byte[4];
            Assert.Equal(4, await accepted.ReceiveAsync(buffer));
            await accepted.SendAsync("pong"u8.ToArray());
            Assert.Equal(4, await connected.Socket.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("pong"u8.ToArray(), buffer);
        }
    }

    [Fact]
    public async Task AUnixSocketBackendIsReached()
    {
        string path = Path.Combine(Path.GetTempPath(), $"baton-relay-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        try
        {
            var settings = new RelaySettings
            {
                Backends = [path], ConnectTimeout = TimeSpan.FromSeconds(5), ClientIdleTimeout = TimeSpan.FromMinutes(1),
                BackendIdleTimeout = TimeSpan.FromMinutes(1), MaxRetryBackoff = TimeSpan.FromSeconds(2),
            };
            using var backends = new BackendSet(settings, new CollectingLogger(), HandedOffSockets.Loop);
            BackendSet.Connected connected = await backends.ConnectAsync(CancellationToken.None);
            using (connected.Socket)
            {
                Assert.Equal($"unix:{path}", connected.Name);
                using Socket accepted = await listener.AcceptAsync();
                await connected.Socket.WriteAsync("ping"u8.ToArray());
                byte[] buffer = new byte[4];
                Assert.Equal(4, await accepted.ReceiveAsync(buffer));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
