using System.Net.Sockets;
using Baton.IO;

namespace Baton.AspNetCore;

/// <summary>
/// Lingering close (<see cref="LingeringClose"/>, as nginx's <c>lingering_close</c>) after a graceful end: only the
/// write side is shut (close_notify, then FIN) and what the client still sends is dropped until it closes. Closing with
/// unread bytes in the receive queue makes the kernel answer with a reset, and a client that gets the reset before it
/// has read the last response fails the requests it had in flight. An h2 client also needs the final GOAWAY before it
/// sees the end of the stream (a request it is sending when the end arrives fails instead of being retried), so h2
/// waits for the client to close first, within the same deadline.
/// </summary>
internal sealed partial class BatonConnection
{
    private readonly TaskCompletionSource _receiveEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Set by a graceful end (under the shutdown lock, before the send loop ends): the linger's deadline.</summary>
    private Timer? _lingerTimer;
    /// <summary>Nothing left to drop: the client closed or reset, or the h2 wait already lingered.</summary>
    private volatile bool _readSideDone;

    /// <summary>
    /// In the send loop, once Kestrel's output is complete: an h2 connection's last frame is a GOAWAY, which the client
    /// answers by closing once its streams are done, and by retrying elsewhere what it had not sent yet. Kestrel stops
    /// reading first, so the receive loop ends at the client's next bytes (a request racing the GOAWAY): from there the
    /// send loop is the only reader and drops them until the client closes.
    /// </summary>
    private async ValueTask AwaitClientCloseAfterGoAwayAsync()
    {
        if (_stream.ApplicationProtocol != "h2")
            return;
        try
        {
            await _receiveEnded.Task.WaitAsync(LingeringClose.Timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The client keeps the connection open: end it from our side, lingering as for any other connection.
            return;
        }
        if (!_readSideDone)
        {
            await LingeringClose.DrainAsync(static () => { }, _stream.ReadAsync).ConfigureAwait(false);
            _readSideDone = true;
        }
    }

    /// <summary>Under the shutdown lock, for a graceful end: FIN now; a read still pending ends at the deadline.</summary>
    private void BeginLinger()
    {
        _connection.Socket.Shutdown(SocketShutdown.Send);
        _lingerTimer = new Timer(static state => ((BatonConnection)state!).EndLinger(), this, LingeringClose.Timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A timer callback: wakes a read still pending with end-of-stream. Must not throw.</summary>
    private void EndLinger()
    {
        try
        {
            _connection.Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The client closed or reset first, or the connection is already disposed.
        }
    }

    /// <summary>After both loops ended: drops what the client still sends until it closes or the linger is over.</summary>
    private async Task LingerAsync()
    {
        if (_lingerTimer is null)
            return;
        try
        {
            if (!_readSideDone)
                await LingeringClose.DrainAsync(static () => { }, _stream.ReadAsync).ConfigureAwait(false);
        }
        finally
        {
            await _lingerTimer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
