using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Baton.Channel;
using Baton.Configuration;

namespace Baton.Worker;

/// <summary>
/// Handback on the worker's channel: a connection goes back to the front (Handback, with its descriptor) and the
/// worker keeps its copy until the front's HandbackAck. No Ack within <see cref="HandbackAckTimeout"/>, or the channel
/// ends first: the front may or may not have passed the session on, and only one side may ever write to it again (two
/// writers would seal different records under the same key and sequence number, reusing the AEAD nonce), so the
/// worker closes its copy without a byte.
/// </summary>
internal sealed partial class WorkerListener
{
    /// <summary>
    /// The front acks once another worker holds the connection: a dispatch (Limits:DispatchTimeout) plus that worker's
    /// Ack (Limits:WorkerResponseTimeout, retried elsewhere when it dies). Far above both defaults.
    /// </summary>
    internal static readonly TimeSpan HandbackAckTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<bool>> _handbacks = new();

    /// <summary>A reload's routes (Routes message), replacing those of the settings.</summary>
    private volatile RouteTable? _reloadedRoutes;

    /// <summary>A handoff worker's routes as the front sent them last (Configure, then each reload's Routes); null otherwise.</summary>
    internal RouteTable? Routes => _settings?.Mode == HandoffMode.Handoff ? _reloadedRoutes ?? _settings.Routes : null;

    /// <summary>The routes of a reload: the gates and the 421 filter route every later request by them.</summary>
    private void ReplaceRoutes(ReadOnlySpan<byte> body)
    {
        if (Settings.Mode != HandoffMode.Handoff)
            throw new ChannelProtocolException(ChannelError.WrongDirection, "Routes sent to a worker that does not route requests (only handoff workers do)");
        _reloadedRoutes = RoutesUpdate.ReadFrom(body).Routes;
    }

    /// <summary>
    /// Sends the connection back and waits for the front's HandbackAck. <see cref="HandbackOutcome.Taken"/>: the worker
    /// closes its copy without a FIN (the front's copy keeps the connection open). <see cref="HandbackOutcome.NotSent"/>:
    /// the front never saw it, the worker still owns the session. <see cref="HandbackOutcome.Unanswered"/>: sent, but no
    /// Ack in time or the channel ended: the front may have passed the session on, so the worker must not write to it.
    /// </summary>
    internal async Task<HandbackOutcome> HandBackAsync(ulong id, ReadOnlyMemory<byte> body, SafeHandle socket)
    {
        var acknowledged = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_handbacks.TryAdd(id, acknowledged))
            return HandbackOutcome.NotSent;
        try
        {
            if (!_channel.TrySend(MessageType.Handback, id, body.Span, socket))
            {
                _handbacks.TryRemove(id, out _);
                return HandbackOutcome.NotSent;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            _handbacks.TryRemove(id, out _);
            return HandbackOutcome.NotSent;
        }
        try
        {
            return await acknowledged.Task.WaitAsync(HandbackAckTimeout).ConfigureAwait(false) ? HandbackOutcome.Taken : HandbackOutcome.Unanswered;
        }
        catch (TimeoutException)
        {
            return HandbackOutcome.Unanswered;
        }
        finally
        {
            _handbacks.TryRemove(id, out _);
        }
    }

    /// <summary>A late Ack (after the timeout gave up) changes nothing: the worker has answered the connection itself.</summary>
    private void OnHandbackAck(ulong id)
    {
        if (_handbacks.TryGetValue(id, out TaskCompletionSource<bool>? acknowledged))
            acknowledged.TrySetResult(true);
    }

    /// <summary>The channel ended: no Ack can come.</summary>
    private void FailPendingHandbacks()
    {
        foreach (TaskCompletionSource<bool> pending in _handbacks.Values)
            pending.TrySetResult(false);
    }
}

/// <summary>How a handback ended, from the worker's side (<see cref="WorkerListener.HandBackAsync"/>).</summary>
internal enum HandbackOutcome
{
    /// <summary>The front acknowledged: it holds the connection.</summary>
    Taken,

    /// <summary>Never sent (no room on the channel, over its bounds): the worker still owns the session.</summary>
    NotSent,

    /// <summary>Sent, no Ack in time or the channel ended: nobody knows who holds the session, so nobody here writes.</summary>
    Unanswered,
}
