using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Baton.Tests.Infrastructure;
using Baton.Tests.IO;

namespace Baton.Tests.Supervisor;

/// <summary>
/// A loopback TCP connection on its way to a worker, as the front holds one: the handoff carries the accepted end
/// (the descriptor that travels) and the test keeps the client end, on which a hold worker says who it is.
/// </summary>
internal sealed class HandedConnection : IDisposable
{
    // PolledSocket needs a poller only to wait for readiness, which the pool never does: one serves every test.
    private static readonly SocketPoller Poller = new();
    private static ulong s_nextId;

    private HandedConnection(Socket client, PendingHandoff handoff)
    {
        Client = client;
        Handoff = handoff;
    }

    public Socket Client { get; }
    public PendingHandoff Handoff { get; }

    public static async Task<HandedConnection> OpenAsync()
    {
        LoopbackPair pair = await LoopbackPair.ConnectAsync();
        Socket client = pair.Client, accepted = pair.Server;
        var facts = new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = TestPool.Name };
        byte[] body = ArrayPool<byte>.Shared.Rent(facts.EncodedLengthUpperBound);
        int length = facts.WriteTo(body, out _);
        return new HandedConnection(client, new PendingHandoff(Interlocked.Increment(ref s_nextId), TestPool.Name, new PolledSocket(accepted, Poller), body, length));
    }

    /// <summary>Dispatches through <paramref name="pool"/>, which must take it, and returns the pid of the worker that says it holds it.</summary>
    public async Task<int> DispatchAsync(TestPool pool)
    {
        Assert.Equal(DispatchOutcome.HandedOff, await pool.Pool.DispatchAsync(Handoff, CancellationToken.None).WaitAsync(Wait.DefaultTimeout));
        return await ReadWorkerPidAsync();
    }

    /// <summary>The "worker pid: N" line a hold worker writes on the descriptor it was handed.</summary>
    public async Task<int> ReadWorkerPidAsync()
    {
        byte[] line = new byte[64];
        int length = 0;
        using var deadline = new CancellationTokenSource(Wait.DefaultTimeout);
        while (Array.IndexOf(line, (byte)'\n', 0, length) < 0)
        {
            int read = await Client.ReceiveAsync(line.AsMemory(length), deadline.Token);
            if (read == 0)
                throw new IOException("the connection closed before a worker said it holds it");
            length += read;
        }
        return Clients.WorkerPid(Encoding.ASCII.GetString(line, 0, length));
    }

    /// <summary>The client hangs up: the worker holding the connection closes it and tells the front Closed.</summary>
    public void CloseClient() => Client.Dispose();

    public void Dispose()
    {
        Client.Dispose();
        Handoff.Dispose();
    }
}
