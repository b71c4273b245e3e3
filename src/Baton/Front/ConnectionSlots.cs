using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Baton.Diagnostics;
using Baton.IO;

namespace Baton.Front;

/// <summary>
/// The connections the front holds before handing them off, counted against its cap, and the pressure rule: from
/// <see cref="PressureStartPercent"/> of the cap until it is back under <see cref="PressureEndPercent"/>, every
/// pre-handoff wait that starts (PROXY header, ClientHello, handshake, request head) is bounded by the pressure timeout
/// when that is shorter than its own. Idle clients are cut first, so the slots go to clients that talk (as nginx's
/// reset_timedout_connection and HAProxy's timeout http-request do); the gap between the two marks keeps an episode
/// from flapping, and each episode is logged once when it starts and once when it ends.
/// </summary>
internal sealed class ConnectionSlots : IDisposable
{
    public const int PressureStartPercent = 80;
    public const int PressureEndPercent = 50;

    /// <summary>A worker's restart opens a channel pair and the spawn's copy of the worker's end before closing two of them.</summary>
    public const int DescriptorsPerWorkerRestart = 3;

    private readonly SemaphoreSlim _free;
    private readonly TimeSpan _pressureTimeout;
    private readonly ILogger _logger;
    private readonly Lock _episodeGate = new();
    private int _held;
    /// <summary>Stopwatch timestamp of the start of the pressure episode; 0 when there is none.</summary>
    private long _pressureSince;

    public ConnectionSlots(int capacity, TimeSpan pressureTimeout, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _free = new SemaphoreSlim(capacity, capacity);
        _pressureTimeout = pressureTimeout;
        _logger = logger;
    }

    public int Capacity { get; }

    public int Held => Volatile.Read(ref _held);

    public bool UnderPressure => Volatile.Read(ref _pressureSince) != 0;

    /// <summary>
    /// The cap: the configured one, or less when the descriptor limit says so. Each held connection is one descriptor;
    /// what is open when the front starts accepting stays open; the runtime's reserve and every worker's restart stay free,
    /// so the front stops accepting before any open of its own could fail. 0 when there is no room at all.
    /// </summary>
    public static int CapFor(int configured, DescriptorLimit limit, int open, int workers) =>
        Math.Min(configured, limit.Room(open, Reserve(workers)));

    /// <summary>What <see cref="CapFor"/> keeps free besides what is open.</summary>
    public static int Reserve(int workers) => DescriptorLimit.RuntimeReserve + DescriptorsPerWorkerRestart * workers;

    /// <summary>Waits for a free slot: the accept loop takes one before accepting, so at the cap the kernel's backlog holds new clients.</summary>
    public async Task AcquireAsync(CancellationToken cancellationToken)
    {
        await _free.WaitAsync(cancellationToken).ConfigureAwait(false);
        int held = Interlocked.Increment(ref _held);
        if (held * 100L >= Capacity * (long)PressureStartPercent && !UnderPressure)
            StartEpisode(held);
    }

    public void Release()
    {
        int held = Interlocked.Decrement(ref _held);
        _free.Release();
        if (held * 100L < Capacity * (long)PressureEndPercent && UnderPressure)
            EndEpisode(held);
    }

    /// <summary>
    /// Waits until no connection is held (every one handed off or closed), or <paramref name="deadline"/> has passed.
    /// For a front that no longer accepts: every wait before a handoff has its own bound, so this ends well before the
    /// deadline unless clients stall.
    /// </summary>
    public async Task WaitUntilNoneHeldAsync(TimeSpan deadline)
    {
        long until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        while (Held > 0 && Stopwatch.GetTimestamp() < until)
            await Task.Delay(TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
    }

    /// <summary>How long a wait that starts now may take: <paramref name="timeout"/>, or the pressure timeout when shorter under pressure.</summary>
    public TimeSpan Bound(TimeSpan timeout) => UnderPressure && _pressureTimeout < timeout ? _pressureTimeout : timeout;

    private void StartEpisode(int held)
    {
        lock (_episodeGate)
        {
            if (_pressureSince != 0)
                return;
            Volatile.Write(ref _pressureSince, Math.Max(1, Stopwatch.GetTimestamp()));
        }
        _logger.PressureStarted(held, Capacity, _pressureTimeout, Capacity * PressureEndPercent / 100);
    }

    private void EndEpisode(int held)
    {
        long since;
        lock (_episodeGate)
        {
            since = _pressureSince;
            if (since == 0)
                return;
            Volatile.Write(ref _pressureSince, 0);
        }
        _logger.PressureEnded(held, Capacity, Stopwatch.GetElapsedTime(since));
    }

    public void Dispose() => _free.Dispose();
}
