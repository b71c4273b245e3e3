using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Baton.IO;
using Baton.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Baton.Tests.Workers;

/// <summary>
/// The worker's raw-descriptor stream and its readiness loop on real loopback TCP: data, orderly close, reset, sends
/// after a reset, zero-byte waits, cancellation, a close under a pending read, reused descriptor numbers, and many
/// connections at once in both directions.
/// </summary>
public sealed class HandedOffSocketTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reads_data_then_end_of_stream_on_an_orderly_close()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
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
    public async Task A_zero_byte_read_waits_for_data_and_takes_none_of_it()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        Task<int> waiting = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(waiting.IsCompleted);

        await client.SendAsync("ab"u8.ToArray());
        Assert.Equal(0, await waiting.WaitAsync(Deadline));
        byte[] buffer = new byte[8];
        Assert.Equal(2, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.Equal("ab"u8.ToArray(), buffer[..2]);
        client.Dispose();
    }

    [Fact]
    public async Task A_zero_byte_read_after_a_full_receive_returns_at_once_for_the_bytes_left()
    {
        // The registration is edge-triggered: bytes left behind by a receive that filled its buffer get no new edge.
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        await client.SendAsync("abcdefgh"u8.ToArray());
        byte[] buffer = new byte[4];
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        int first = await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline);
        Assert.Equal(4, first);

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        Assert.Equal(4, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.Equal("efgh"u8.ToArray(), buffer);
        client.Dispose();
    }

    [Fact]
    public async Task A_zero_byte_read_after_a_drain_waits_for_the_next_bytes()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        await client.SendAsync("ab"u8.ToArray());
        byte[] buffer = new byte[8];
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        Assert.Equal(2, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));

        Task<int> waiting = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(waiting.IsCompleted);
        await client.SendAsync("c"u8.ToArray());
        Assert.Equal(0, await waiting.WaitAsync(Deadline));
        Assert.Equal(1, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.Equal((byte)'c', buffer[0]);
        client.Dispose();
    }

    [Fact]
    public async Task A_zero_byte_read_after_the_last_bytes_returns_at_once_when_the_end_came_with_them()
    {
        // The bytes and the FIN are both queued before the first wait: one edge announces them, the receive of the
        // bytes consumes it, and the end it leaves behind must still wake a zero-byte read (the relay's backend side).
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        await client.SendAsync("ab"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        byte[] buffer = new byte[8];
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        Assert.Equal(2, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline));
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.False(stream.ResetByPeer);
        client.Dispose();
    }

    [Fact]
    public async Task On_a_loop_with_inline_continuations_what_awaited_a_read_goes_on_on_the_loop_thread()
    {
        using var loop = new ReadinessLoop("test-inline", inlineContinuations: true);
        (Socket client, Socket server) = await SocketPairAsync();
        SafeFdHandle fd = SafeFdHandle.Duplicate(server.SafeHandle);
        server.Dispose();
        using var stream = new HandedOffSocket(fd, loop);
        async Task<string?> ReadThenLookAsync()
        {
            await stream.ReadAsync(new byte[4]).ConfigureAwait(false);
            return Thread.CurrentThread.Name;
        }
        Task<string?> reading = ReadThenLookAsync();
        Assert.False(reading.IsCompleted);

        await client.SendAsync("x"u8.ToArray());
        Assert.Equal("test-inline", await reading.WaitAsync(Deadline));
        client.Dispose();
    }

    [Fact]
    public async Task What_awaited_a_read_goes_on_on_a_pool_thread_never_on_the_loop()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        async Task<(bool Pool, string? Name)> ReadThenLookAsync()
        {
            await stream.ReadAsync(new byte[4]).ConfigureAwait(false);
            return (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name);
        }
        Task<(bool Pool, string? Name)> reading = ReadThenLookAsync();
        Assert.False(reading.IsCompleted);

        await client.SendAsync("x"u8.ToArray());
        (bool pool, string? name) = await reading.WaitAsync(Deadline);
        Assert.True(pool, $"continued on {name}");
        client.Dispose();
    }

    [Fact]
    public async Task A_reset_ends_the_stream_without_throwing_and_says_so()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
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
    public async Task A_cancelled_read_ends_and_the_next_read_still_gets_the_data()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        using var cancellation = new CancellationTokenSource();
        byte[] buffer = new byte[16];
        Task<int> pending = stream.ReadAsync(buffer, cancellation.Token).AsTask();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Deadline));

        await client.SendAsync("later"u8.ToArray());
        Assert.Equal(5, await stream.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        client.Dispose();
    }

    [Fact]
    public async Task Closing_under_a_pending_read_fails_that_read_instead_of_leaving_it_hanging()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        Task<int> pending = stream.ReadAsync(new byte[16]).AsTask();
        stream.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(Deadline));
        // The descriptor was closed: the client sees the end of the connection.
        Assert.Equal(0, await client.ReceiveAsync(new byte[1]).WaitAsync(Deadline));
        client.Dispose();
    }

    [Fact]
    public async Task Writes_every_byte_of_a_large_buffer()
    {
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        byte[] payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);

        Task write = stream.WriteAsync(payload).AsTask();
        byte[] received = await ReceiveExactlyAsync(client, payload.Length);
        await write.WaitAsync(Deadline);
        Assert.Equal(payload, received);
        client.Dispose();
    }

    [Fact]
    public async Task A_write_that_waits_on_a_socket_registered_for_reads_alone_completes_and_the_read_still_comes()
    {
        // A first wait that is a read registers the socket for reads only; the first write that has to wait widens the
        // registration, which must neither lose the write's edge nor the pending read's.
        (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
        using var _ = stream;
        Task<int> pendingRead = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(pendingRead.IsCompleted);

        byte[] payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        Task write = stream.WriteAsync(payload).AsTask();
        byte[] received = await ReceiveExactlyAsync(client, payload.Length);
        await write.WaitAsync(Deadline);
        Assert.Equal(payload, received);
        Assert.False(pendingRead.IsCompleted);

        await client.SendAsync("x"u8.ToArray());
        Assert.Equal(0, await pendingRead.WaitAsync(Deadline));
        byte[] one = new byte[1];
        Assert.Equal(1, await stream.ReadAsync(one).AsTask().WaitAsync(Deadline));
        Assert.Equal((byte)'x', one[0]);
        client.Dispose();
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket client, int length)
    {
        byte[] received = new byte[length];
        for (int total = 0; total < length;)
        {
            int n = await client.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Deadline);
            Assert.NotEqual(0, n);
            total += n;
        }
        return received;
    }

    [Fact]
    public async Task A_descriptor_number_used_again_gets_its_own_events()
    {
        // Closed and reopened at once, the next connection usually gets the same number: its events must reach it.
        for (int i = 0; i < 20; i++)
        {
            (Socket client, HandedOffSocket stream) = await ConnectedPairAsync();
            Task<int> pending = stream.ReadAsync(new byte[4]).AsTask();
            await client.SendAsync(new byte[] { (byte)i });
            Assert.Equal(1, await pending.WaitAsync(Deadline));
            stream.Dispose();
            client.Dispose();
        }
    }

    [Fact]
    public async Task A_registration_left_behind_on_a_reused_number_gives_way_to_the_next_connection()
    {
        // A descriptor closed without leaving the loop (a bug elsewhere) must not cost the connection that gets its
        // number next. Far above the numbers in use, so that the close and the reuse are this test's alone.
        (Socket firstClient, Socket firstServer) = await SocketPairAsync();
        (Socket secondClient, Socket secondServer) = await SocketPairAsync();
        SafeFdHandle firstFd = SafeFdHandle.DuplicateAbove(firstServer.SafeHandle, 900);
        firstServer.Dispose();
        int number = firstFd.Fd;
        var stale = new HandedOffSocket(firstFd, HandedOffSockets.Loop);
        Task<int> pending = stale.ReadAsync(new byte[4]).AsTask();
        firstFd.Dispose();

        SafeFdHandle secondFd = SafeFdHandle.DuplicateAbove(secondServer.SafeHandle, number);
        secondServer.Dispose();
        Assert.Equal(number, secondFd.Fd);
        using var fresh = new HandedOffSocket(secondFd, HandedOffSockets.Loop);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(Deadline));
        stale.Dispose(); // must not take the new connection's registration with it

        for (byte i = 1; i <= 2; i++)
        {
            Task<int> read = fresh.ReadAsync(new byte[4]).AsTask();
            await secondClient.SendAsync(new[] { i });
            Assert.Equal(1, await read.WaitAsync(Deadline));
        }
        firstClient.Dispose();
        secondClient.Dispose();
    }

    [Fact]
    public async Task Many_connections_echo_in_both_directions_at_once()
    {
        // Edge-triggered waits: a lost edge shows as a connection that never finishes its echo.
        const int Connections = 64, Bytes = 256 * 1024;
        var pairs = new List<(Socket Client, HandedOffSocket Server)>();
        for (int i = 0; i < Connections; i++)
            pairs.Add(await ConnectedPairAsync());
        try
        {
            await Task.WhenAll(pairs.Select(pair => EchoAsync(pair.Client, pair.Server, Bytes))).WaitAsync(Deadline * 2);
        }
        finally
        {
            foreach ((Socket client, HandedOffSocket server) in pairs)
            {
                server.Dispose();
                client.Dispose();
            }
        }
    }

    private static async Task EchoAsync(Socket client, HandedOffSocket server, int bytes)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(bytes);
        Task serve = Task.Run(async () =>
        {
            byte[] buffer = new byte[Random.Shared.Next(1, 20_000)];
            int n;
            while ((n = await server.ReadAsync(buffer)) > 0)
                await server.WriteAsync(buffer.AsMemory(0, n));
            server.Shutdown(SocketShutdown.Send);
        });
        Task send = Task.Run(async () =>
        {
            for (int sent = 0; sent < bytes;)
                sent += await client.SendAsync(payload.AsMemory(sent, Math.Min(Random.Shared.Next(1, 50_000), bytes - sent)));
            client.Shutdown(SocketShutdown.Send);
        });
        byte[] echoed = new byte[bytes + 1];
        int total = 0, read;
        while ((read = await client.ReceiveAsync(echoed.AsMemory(total))) > 0)
            total += read;
        await Task.WhenAll(serve, send);
        Assert.Equal(bytes, total);
        Assert.Equal(payload, echoed[..bytes]);
    }

    private static async Task<(Socket Client, HandedOffSocket Server)> ConnectedPairAsync()
    {
        (Socket client, Socket server) = await SocketPairAsync();
        return (client, HandedOffSockets.TakeOver(server));
    }

    private static async Task<(Socket Client, Socket Server)> SocketPairAsync()
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
