using System.Net;
using System.Net.Sockets;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// Accepts TCP connections on a free loopback port and serves each on its own task. Disposing stops accepting,
/// cancels the token handed to each connection and waits (with a deadline) for every connection to finish.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Socket, CancellationToken, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    /// <param name="serve">Serves one accepted socket and owns it; the token fires when the server is disposed.</param>
    public LoopbackServer(Func<Socket, CancellationToken, Task> serve)
    {
        _serve = serve;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int ConnectionCount { get { lock (_connections) return _connections.Count; } }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        Task[] connections;
        lock (_connections) connections = [.. _connections];
        await Task.WhenAll(connections).WaitAsync(Deadline);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            lock (_connections) _connections.Add(Task.Run(() => _serve(socket, _stop.Token)));
        }
    }
}
