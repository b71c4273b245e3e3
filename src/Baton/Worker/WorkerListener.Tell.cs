using Baton.Channel;

namespace Baton.Worker;

/// <summary>The worker's own messages to the front (Pong, Closed): where they may wait for room, they wait on a pool thread.</summary>
internal sealed partial class WorkerListener
{
    /// <summary>
    /// The Pong goes through the thread pool, not from this thread: this thread keeps running when the app's threads
    /// are deadlocked or starved, and would answer for a worker that serves nothing. So the front's deadline catches a
    /// worker whose thread pool runs no work item for that long, as it catches a stopped process.
    /// </summary>
    private void AnswerPing(ulong number) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Listener.Tell(MessageType.Pong, state.Number), (Listener: this, Number: number), preferLocal: false);

    private void OnClosed(ulong connectionId)
    {
        _budget!.Release();
        // The caller may be the relay's readiness loop, which must never block: a full queue to the front defers this
        // message to the pool, where it waits.
        if (!Tell(MessageType.Closed, connectionId, wait: false))
            ThreadPool.UnsafeQueueUserWorkItem(
                static state => state.Listener.Tell(MessageType.Closed, state.Id),
                (Listener: this, Id: connectionId), preferLocal: false);
    }

    /// <summary>False only when told not to wait and the front's queue is full.</summary>
    private bool Tell(MessageType type, ulong id, bool wait = true)
    {
        try
        {
            if (!wait) return _channel.TrySend(type, id, [], null);
            _channel.Send(type, id, []);
        }
        catch (Exception ex) when (ex is Baton.Channel.ChannelClosedException or ObjectDisposedException)
        {
            // The front is gone (or this listener disposed); the worker is draining and nobody counts any more.
        }
        return true;
    }
}
