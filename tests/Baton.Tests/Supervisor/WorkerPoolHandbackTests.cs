using System.Net.Sockets;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Supervisor;

/// <summary>
/// The front's side of the Handback message with real test worker processes: a worker that dies between Handback and
/// HandbackAck loses nothing (the front holds the connection), and a malformed Handback or one for a connection the
/// worker was never sent breaks only that worker's channel, with no descriptor left behind.
/// </summary>
public sealed class WorkerPoolHandbackTests
{
    [Fact]
    public async Task AWorkerKilledBetweenHandbackAndAckLeavesTheConnectionWithTheFront()
    {
        await using TestPool pool = TestPool.Start(1, ["hand-back-and-die"]);
        var arrived = new TaskCompletionSource<HandbackArrival>(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Pool.HandbackReceived = arrival => arrived.TrySetResult(arrival);
        await pool.WaitReadyAsync();
        using HandedConnection connection = await HandedConnection.OpenAsync();
        await pool.Pool.DispatchAsync(connection.Handoff, CancellationToken.None).WaitAsync(Wait.DefaultTimeout);

        using HandbackArrival arrival = await arrived.Task.WaitAsync(Wait.DefaultTimeout);
        Assert.Equal("test", ConnectionFacts.ReadHandback(arrival.Body, out _).Pool);
        await pool.Launched[0].Worker.Exited.WaitAsync(Wait.DefaultTimeout);
        Assert.False(arrival.Acknowledge()); // nobody to tell: the worker is gone
        connection.Handoff.Dispose();        // the dispatch's own copy: now the handed-back one is the only one

        using var socket = new Socket(new SafeSocketHandle(arrival.TakeFd(), ownsHandle: true));
        await socket.SendAsync("still here"u8.ToArray());
        byte[] received = new byte[10];
        await connection.Client.ReceiveAsync(received).WaitAsync(Wait.DefaultTimeout);
        Assert.Equal("still here"u8.ToArray(), received);
        socket.Dispose();
        Assert.Empty(await Clients.ReadUntilClosedAsync(connection.Client, Wait.DefaultTimeout));
    }

    [Theory]
    [InlineData("hand-back-malformed")]
    [InlineData("hand-back-unknown")]
    public async Task ABadHandbackBreaksOnlyThatWorkersChannelAndLeaksNothing(string behaviour)
    {
        await using TestPool pool = TestPool.Start(1, n => [n == 0 ? behaviour : "hold"]);
        int handbacks = 0;
        pool.Pool.HandbackReceived = arrival =>
        {
            Interlocked.Increment(ref handbacks);
            arrival.Dispose();
        };
        await pool.WaitReadyAsync();
        using HandedConnection connection = await HandedConnection.OpenAsync();
        await pool.Pool.DispatchAsync(connection.Handoff, CancellationToken.None).WaitAsync(Wait.DefaultTimeout);

        WorkerExit exit = await pool.Launched[0].Worker.Exited.WaitAsync(Wait.DefaultTimeout);
        Assert.Equal(Interop.Libc.SIGKILL, exit.Signal); // the front killed it for the protocol error
        Assert.Equal(0, handbacks);
        // Every copy of the connection is gone once the dispatch's own is closed: the front kept none of the handed-back one.
        connection.Handoff.Dispose();
        Assert.Empty(await Clients.ReadUntilClosedAsync(connection.Client, Wait.DefaultTimeout));
        // The pool goes on with a new worker.
        await pool.WaitForLaunchAsync(1);
        using HandedConnection next = await HandedConnection.OpenAsync();
        Assert.Equal(pool.Launched[1].Worker.Pid, await next.DispatchAsync(pool));
    }
}
