using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>A relay asked to stop (SIGTERM, the front draining its pool) lets the connections it relays go on.</summary>
public sealed class ProxyDrainTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ARelayedConnectionOutlivesTheFrontsStopUntilItEnds()
    {
        await using LoopbackServer echo = ProxyBackends.Echo();
        using TempFile config = TempFile.Config(new
        {
            Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
            Pools = new { @default = new { Workers = 1, Mode = "proxy", Backend = $"127.0.0.1:{echo.Port}" } },
            Limits = new { ShutdownTimeout = "00:01:00" },
        });
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, front.Port).WaitAsync(Deadline);
        await using var tls = new SslStream(new NetworkStream(socket));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }).WaitAsync(Deadline);
        Assert.Equal("before\n", await EchoAsync(tls, "before\n"));

        // The front stops accepting and drains its pool: the relay gets SIGTERM and must not cut what it relays.
        front.Signal(Interop.Libc.SIGTERM);
        await front.WaitForOutputAsync("draining 1 relayed connections", Deadline);
        Assert.Equal("after\n", await EchoAsync(tls, "after\n"));
        Assert.False(front.HasExited);

        await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);
        // The connection ended: the relay is empty and exits, and so does the front, long before ShutdownTimeout.
        await Wait.UntilAsync(() => front.HasExited, "the front has exited once the relayed connection ended", Deadline);
    }

    private static async Task<string> EchoAsync(SslStream tls, string line)
    {
        await tls.WriteAsync(Encoding.ASCII.GetBytes(line)).AsTask().WaitAsync(Deadline);
        var received = new StringBuilder();
        byte[] buffer = new byte[256];
        while (!received.ToString().EndsWith('\n'))
        {
            int read = await tls.ReadAsync(buffer).AsTask().WaitAsync(Deadline);
            if (read == 0)
                break;
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return received.ToString();
    }
}
