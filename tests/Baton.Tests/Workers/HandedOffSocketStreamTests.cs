using System.Net;
using System.Net.Sockets;

namespace Baton.Tests.Workers;

/// <summary>The worker's socket stream on real loopback TCP: data, orderly close, reset, and sends after a reset.</summary>
public sealed class HandedOffSocketStreamTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reads_data_then_end_of_stream_on_an_orderly_close()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using var stream = new HandedOffSocketStream(server);
        await client.SendAsync("hello"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        byte[] buffer = new byte[16];
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        Assert.Equal(5, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.False(stream.ResetByPeer);
        client.Dispose();
    }

    [Fact]
    public async Task A_reset_ends_the_stream_without_throwing_and_says_so()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using var stream = new HandedOffSocketStream(server);
        byte[] buffer = new byte[16];
        Task<int> pending = stream.ReadAsync(buffer).AsTask();

        client.LingerState = new LingerOption(enable: true, seconds: 0); // close sends RST
        client.Dispose();

        Assert.Equal(0, await pending.WaitAsync(Deadline));
        Assert.True(stream.ResetByPeer);
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        IOException error = await Assert.ThrowsAsync<IOException>(() => stream.WriteAsync(new byte[64]).AsTask().WaitAsync(Deadline));
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Fact]
    public async Task A_cancellable_read_sees_a_reset_the_same_way()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using var stream = new HandedOffSocketStream(server);
        using var cancellation = new CancellationTokenSource(Deadline);
        Task<int> pending = stream.ReadAsync(new byte[16], cancellation.Token).AsTask();

        client.LingerState = new LingerOption(enable: true, seconds: 0);
        client.Dispose();

        Assert.Equal(0, await pending.WaitAsync(Deadline));
        Assert.True(stream.ResetByPeer);
    }

    [Fact]
    public async Task Writes_every_byte_of_a_large_buffer()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using var stream = new HandedOffSocketStream(server);
        byte[] payload = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(payload);

        Task write = stream.WriteAsync(payload).AsTask();
        byte[] received = new byte[payload.Length];
        int total = 0;
        while (total < received.Length)
        {
            int n = await client.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Deadline);
            Assert.NotEqual(0, n);
            total += n;
        }
        await write.WaitAsync(Deadline);
        Assert.Equal(payload, received);
        client.Dispose();
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Deadline);
        Socket server = await listener.AcceptAsync().WaitAsync(Deadline);
        return (client, server);
    }
}
