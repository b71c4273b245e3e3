using System.Net.Sockets;

namespace Baton.Hosting;

/// <summary>
/// One listening socket and its accept loop. Identified across reloads by <see cref="Key"/> (its configured address),
/// so a reload that keeps an address keeps the socket, and the kernel's backlog with it.
/// </summary>
internal sealed class AcceptingListener
{
    private readonly CancellationTokenSource _closing;

    /// <param name="accepting">Cancelled when the front stops accepting on every listener.</param>
    public AcceptingListener(string key, Socket socket, CancellationToken accepting)
    {
        Key = key;
        Socket = socket;
        _closing = CancellationTokenSource.CreateLinkedTokenSource(accepting);
    }

    public string Key { get; }
    public Socket Socket { get; }

    /// <summary>Cancelled when the front stops or a reload removes this listener.</summary>
    public CancellationToken Closing => _closing.Token;

    public Task Loop { get; private set; } = Task.CompletedTask;

    public void Start(Task loop) => Loop = loop;

    /// <summary>
    /// Stops accepting, lets the accept loop end, then closes the socket. The order matters when the socket is shared
    /// with another process (after a binary upgrade, the new front's): .NET's close of a socket with an accept pending
    /// may shut it down, for every process that holds it.
    /// </summary>
    public async Task CloseAsync()
    {
        Cancel();
        try
        {
            await Loop.ConfigureAwait(false);
        }
        finally
        {
            Socket.Dispose();
        }
    }

    /// <summary>
    /// Stops accepting and closes the socket at once (a listener a reload removes, or one never started). Connections
    /// already accepted are separate sockets and go on; those still in the kernel's backlog are reset by it, as when any
    /// server closes a listening socket.
    /// </summary>
    public void Close()
    {
        Cancel();
        Socket.Dispose();
    }

    private void Cancel()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Closed before.
        }
    }
}
