using System.Diagnostics;
using Baton.Channel;

namespace Baton.Supervisor;

/// <summary>Whether the worker still answers: its outstanding ping, and connections sent but never acknowledged.</summary>
internal sealed partial class WorkerProcess
{
    /// <summary>
    /// The pool's periodic look: pings a ready worker when no ping is outstanding, and says why the worker is
    /// unresponsive once a ping or a sent connection has gone unanswered for longer than <paramref name="timeout"/>.
    /// </summary>
    public string? CheckResponsive(TimeSpan timeout)
    {
        long now = Stopwatch.GetTimestamp();
        foreach ((ulong id, SentConnection sent) in _unacknowledged)
        {
            if (Stopwatch.GetElapsedTime(sent.SentAt, now) > timeout)
                return $"connection {id} not acknowledged within {timeout}";
        }
        lock (_pingGate)
        {
            if (_pingSince != 0 && Stopwatch.GetElapsedTime(_pingSince, now) > timeout)
                return $"ping {_pingNumber} not answered within {timeout}";
            if (_pingSince == 0 && _ready)
                (_pingNumber, _pingSince, _pingDelivered) = (_pingNumber + 1, now, false);
            // A full queue is retried at the next look; the deadline runs from the first try, since a worker that
            // leaves its queue full that long is not reading it.
            if (_pingSince != 0 && !_pingDelivered)
                _pingDelivered = TrySendPing(_pingNumber);
        }
        return null;
    }

    /// <summary>Sends the worker nothing more (the pool kills it next); true the first time only.</summary>
    public bool MarkUnresponsive()
    {
        _ready = false;
        return Interlocked.Exchange(ref _unresponsive, 1) == 0;
    }

    private bool TrySendPing(ulong number)
    {
        try
        {
            return _channel.TrySend(MessageType.Ping, number, [], null);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The channel is closing: the receive loop sees the end and the pool the exit.
            return false;
        }
    }

    /// <summary>A Pong must answer the outstanding ping; anything else is a protocol error.</summary>
    private void AnswerPing(ulong number)
    {
        lock (_pingGate)
        {
            if (_pingSince == 0 || number != _pingNumber)
                throw new ChannelProtocolException(ChannelError.BadConnectionId,
                    $"Pong {number} while {(_pingSince == 0 ? "no ping" : $"ping {_pingNumber}")} is outstanding");
            _pingSince = 0;
        }
    }
}
