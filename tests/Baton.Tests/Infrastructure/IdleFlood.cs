using System.Net;
using System.Net.Sockets;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// Many idle TCP clients on one port, as a slowloris flood: each connects, sends nothing, and connects again as soon
/// as the server closes it. Disposing stops them and closes every socket.
/// </summary>
public sealed class IdleFlood : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _clients;
    private int _cut;

    private IdleFlood(int port, int connections) =>
        _clients = Enumerable.Range(0, connections).Select(_ => Task.Run(() => RunClientAsync(port))).ToArray();

    public static IdleFlood Start(int port, int connections) => new(port, connections);

    /// <summary>How many of its connections the server has closed (or reset) so far.</summary>
    public int Cut => Volatile.Read(ref _cut);

    private async Task RunClientAsync(int port)
    {
        CancellationToken stop = _stop.Token;
        byte[] buffer = new byte[1];
        while (!stop.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port, stop);
            }
            catch (SocketException)
            {
                // Refused (the server is gone or its backlog is full): try again, without spinning.
                await Task.Delay(50, CancellationToken.None);
                continue;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                // An idle client is never sent anything before it is cut: this returns at the close (or reset).
                await socket.ReceiveAsync(buffer, stop);
                Interlocked.Increment(ref _cut);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _cut);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_clients);
        _stop.Dispose();
    }
}
