using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Baton.Channel;
using Baton.Configuration;

namespace Baton.Worker;

/// <summary>
/// Handback on the worker's channel: a connection goes back to the front (Handback, with its descriptor) and the
/// worker keeps its copy until the front's HandbackAck. No Ack within <see cref="HandbackAckTimeout"/>, or the channel
/// ends first: the front did not take it, and the worker still owns the connection.
/// </summary>
internal sealed partial class WorkerListener
{
    /// <summary>
    /// The front acks once another worker holds the connection: a dispatch (Limits:DispatchTimeout) plus that worker's
    /// Ack (Limits:WorkerResponseTimeout, retried elsewhere when it dies). Far above both defaults.
    /// </summary>
    internal static readonly TimeSpan HandbackAckTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<bool>> _handbacks = new();

    /// <summary>The front's routes when this pool's connections may be handed back (Host/path routes exist), else null.</summary>
    internal RouteTable? Routes => _settings?.Mode == HandoffMode.Handoff ? _settings.Routes : null;

    /// <summary>
    /// Sends the connection back; true once the front acknowledged it (then the worker closes its copy, without a FIN:
    /// the front's copy keeps the connection open), false when the front did not take it.
    /// </summary>
    internal async Task<bool> HandBackAsync(ulong id, ReadOnlyMemory<byte> body, SafeHandle socket)
    {
        var acknowledged = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_handbacks.TryAdd(id, acknowledged))
            return false;
        try
        {
            if (!_channel.TrySend(MessageType.Handback, id, body.Span, socket))
                return false;
            return await acknowledged.Task.WaitAsync(HandbackAckTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or TimeoutException)
        {
            return false;
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
