using System.Net.Sockets;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Front;

namespace Baton.Hosting;

/// <summary>The accept loops: one per listener, on the front's event loops, each connection posted to the next loop.</summary>
internal sealed partial class FrontService
{
    private async Task AcceptLoopAsync(AcceptingListener entry, ConnectionSlots slots)
    {
        CancellationToken stopping = _stopping.Token;
        // A reload that removes the listener ends the loop, and so does a stop (which ends every loop first).
        CancellationToken closing = entry.Closing;
        Socket listenerSocket = entry.Socket;
        // Accepted on the front's loops (see AcceptAsync): never block one of their threads on an empty queue.
        listenerSocket.Blocking = false;
        try
        {
            await AcceptConnectionsAsync(entry, listenerSocket, slots, stopping, closing).ConfigureAwait(false);
        }
        finally
        {
            // Before CloseAsync closes the socket: the loops must not keep its descriptor number.
            _poller.Forget(listenerSocket.SafeHandle);
        }
    }

    private async Task AcceptConnectionsAsync(
        AcceptingListener entry, Socket listenerSocket, ConnectionSlots slots, CancellationToken stopping, CancellationToken closing)
    {
        int failures = 0, accepts = 0;
        while (!closing.IsCancellationRequested)
        {
            Socket accepted;
            bool acquired = false;
            try
            {
                // At the cap the front stops accepting (the kernel's backlog holds the rest) rather than run out of descriptors.
                await slots.AcquireAsync(closing).ConfigureAwait(false);
                acquired = true;
                // A full backlog must not keep the loop from its other connections: every so often, back to its epoll_wait.
                accepted = await AcceptAsync(listenerSocket, waitFirst: ++accepts % AcceptsPerWakeup == 0, closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The slot taken for the accept that never came: what is held afterwards is only connections.
                if (acquired)
                    slots.Release();
                return;
            }
            catch (Exception) when (closing.IsCancellationRequested)
            {
                // Closed under the accept (a stop or a reload's removal): whatever it threw, the loop ends here.
                if (acquired)
                    slots.Release();
                return;
            }
            catch (SocketException ex)
            {
                // EMFILE and friends: back off briefly instead of spinning on the same error, with one line per episode.
                slots.Release();
                if (failures++ == 0)
                    _logger.AcceptFailed(entry.Key, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            if (failures > 0)
            {
                _logger.AcceptRecovered(entry.Key, failures);
                failures = 0;
            }
            // The listener's settings and everything else the connection uses come from one generation, held until it leaves.
            FrontGeneration generation = EnterCurrentGeneration();
            ListenerOptions listener = generation.Listener(entry.Key)!;
            _metrics.Accepted(listener.Name);
            ulong id = (ulong)Interlocked.Increment(ref _nextConnectionId);
            Interlocked.Increment(ref _inFront);
            // The next loop serves it from here to its handoff (the accepting loop too, in its turn).
            _poller.Post(
                static state =>
                {
                    var (front, generation, accepted, listener, id, slots, stopping) =
                        ((FrontService, FrontGeneration, Socket, ListenerOptions, ulong, ConnectionSlots, CancellationToken))state!;
                    _ = front.HandleAsync(generation, accepted, listener, id, slots, stopping);
                },
                (this, generation, accepted, listener, id, slots, stopping));
        }
    }

    /// <summary>How many connections a loop accepts in a row before it serves the events of the others.</summary>
    private const int AcceptsPerWakeup = 16;

    /// <summary>
    /// The next connection, accepted on the listener's loop rather than by the runtime's socket engine, so that a
    /// connection's first step (its ClientHello and the ServerHello's key exchange and signature, the costliest part)
    /// runs on a loop as every later step does, not on a thread-pool thread. Poll first: a non-blocking Accept with
    /// nothing queued throws, and an exception per drained queue is not cheap. It can still throw would-block when
    /// another process took the connection in between (a binary upgrade shares the listener).
    /// </summary>
    private async ValueTask<Socket> AcceptAsync(Socket listener, bool waitFirst, CancellationToken closing)
    {
        if (waitFirst)
            await _poller.WaitAsync(listener.SafeHandle, writable: false, closing).ConfigureAwait(false);
        while (true)
        {
            if (listener.Poll(0, SelectMode.SelectRead))
            {
                try
                {
                    return listener.Accept();
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                {
                }
            }
            await _poller.WaitAsync(listener.SafeHandle, writable: false, closing).ConfigureAwait(false);
        }
    }
}
