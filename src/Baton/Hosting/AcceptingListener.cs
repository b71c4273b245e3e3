using System.Net.Sockets;

namespace Baton.Hosting;

/// <summary>
/// One listening socket and its accept loop. Identified across reloads by <see cref="Key"/> (its configured address),
/// so a reload that keeps an address keeps the socket, and the kernel's backlog with it.
/// </summary>
internal sealed class AcceptingListener
{
    private readonly CancellationTokenSource _closing;

    public AcceptingListener(string key, Socket socket, CancellationToken stopping)
    {
        Key = key;
        Socket = socket;
        _closing = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    }

    public string Key { get; }
    public Socket Socket { get; }

    /// <summary>Cancelled when the front stops or a reload removes this listener.</summary>
    public CancellationToken Closing => _closing.Token;

    public Task Loop { get; private set; } = Task.CompletedTask;

    public void Start(Task loop) => Loop = loop;

    /// <summary>
    /// Stops accepting and closes the socket. Connections already accepted are separate sockets and go on; those still
    /// in the kernel's backlog are reset by it, as when any server closes a listening socket.
    /// </summary>
    public void Close()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Closed before.
        }
        Socket.Dispose();
    }
}
