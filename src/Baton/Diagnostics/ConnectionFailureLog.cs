using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>
/// The front's connection-failure lines, bounded per reason: in each interval the first few failures of a reason are
/// logged one line each, the rest only counted, and when the interval ends one line per such reason gives the count
/// and quotes the first failure not logged. A flood of idle connections (20,900 in 30 s once) writes a few lines per
/// interval instead of one per connection; a reason that stays under the bound is logged exactly as before.
/// </summary>
internal sealed class ConnectionFailureLog : IDisposable
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);
    public const int DefaultLinesPerReason = 10;

    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly int _linesPerReason;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    public ConnectionFailureLog(ILogger logger, TimeProvider time, TimeSpan interval, int linesPerReason)
    {
        _logger = logger;
        _interval = interval;
        _linesPerReason = linesPerReason;
        _timer = time.CreateTimer(static state => ((ConnectionFailureLog)state!).EndInterval(), this, interval, interval);
    }

    /// <summary>This interval's failures of one reason, and the first one not logged on its own line.</summary>
    private struct Tally
    {
        public long Count;
        public string? FirstNotLogged;
    }

    public void Failed(ulong id, IPEndPoint? remote, string reason, string detail)
    {
        bool logged;
        lock (_gate)
        {
            ref Tally tally = ref CollectionsMarshal.GetValueRefOrAddDefault(_tallies, reason, out _);
            logged = ++tally.Count <= _linesPerReason;
            if (!logged && tally.FirstNotLogged is null)
                tally.FirstNotLogged = $"connection {id} from {remote}: {detail}";
        }
        if (logged)
            _logger.ConnectionFailed(id, remote, reason, detail);
    }

    /// <summary>One line for each reason that had failures not logged; every reason starts the next interval at zero.</summary>
    private void EndInterval()
    {
        List<(string Reason, Tally Tally)> summarised = [];
        lock (_gate)
        {
            foreach ((string reason, Tally tally) in _tallies)
            {
                if (tally.FirstNotLogged is not null)
                    summarised.Add((reason, tally));
            }
            _tallies.Clear();
        }
        foreach ((string reason, Tally tally) in summarised)
            _logger.ConnectionFailuresSummarised(_interval.TotalSeconds, reason, tally.Count, _linesPerReason, tally.FirstNotLogged!);
    }

    /// <summary>Stops the timer and writes what the last, unfinished interval counted.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        EndInterval();
    }
}
