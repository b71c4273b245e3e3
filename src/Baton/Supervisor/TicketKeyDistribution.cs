using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Tls;

namespace Baton.Supervisor;

/// <summary>
/// Keeps every passthrough worker on the front's one ticket-key ring: at each tick it lets the ring rotate (and drop
/// keys past their window) and sends its keys to every worker that holds an older state of it — after a change, and to
/// a worker started while the ring changed. So a session issued by any worker resumes on any other, also after a
/// rotation: the old key still decrypts on every worker for the decryption window. A send that fails (queue full) is
/// tried again at the next tick.
/// </summary>
internal sealed class TicketKeyDistribution : IDisposable
{
    private readonly Func<TicketKeyRing> _ring;
    private readonly Func<IEnumerable<WorkerPool>> _pools;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private readonly Lock _gate = new();
    private long _loggedVersion;

    /// <param name="ring">The ring in effect (a reload may bring another: a new key file, other rotation settings).</param>
    /// <param name="pools">The pools running now (a reload adds and removes some).</param>
    public TicketKeyDistribution(Func<TicketKeyRing> ring, Func<IEnumerable<WorkerPool>> pools, SessionTicketOptions options, ILogger logger)
    {
        _ring = ring;
        _pools = pools;
        _logger = logger;
        _loggedVersion = ring().CurrentVersion();
        TimeSpan period = TickPeriod(options.RotationInterval);
        _timer = new Timer(static state => ((TicketKeyDistribution)state!).TickSafely(), this, period, period);
    }

    /// <summary>A timer callback must not throw (it would end the process): a failed tick is logged and the next one retries.</summary>
    private void TickSafely()
    {
        try
        {
            Tick();
        }
        catch (Exception ex)
        {
            _logger.TicketKeysNotSent(ex.Message);
        }
    }

    /// <summary>A quarter of the rotation interval, between 100 ms and 1 s: workers follow a rotation within that.</summary>
    internal static TimeSpan TickPeriod(TimeSpan rotationInterval) =>
        TimeSpan.FromTicks(Math.Clamp(rotationInterval.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(1).Ticks));

    /// <summary>Sends the ring to every passthrough worker that holds another state of it (or another ring's).</summary>
    public void Tick()
    {
        lock (_gate)
        {
            TicketKeyRing ring = _ring();
            long version = ring.CurrentVersion();
            WorkerProcess[] stale = [.. _pools().Where(pool => pool.Mode == HandoffMode.Passthrough)
                .SelectMany(pool => pool.Workers).Where(worker => worker.TicketKeysVersion != version)];
            if (stale.Length == 0)
                return;
            byte[] keys = ring.ExportKeys(out version);
            byte[] body = new byte[TicketKeysUpdate.EncodedLength(keys.Length)];
            try
            {
                int length = new TicketKeysUpdate(keys).WriteTo(body);
                if (version != _loggedVersion)
                {
                    _loggedVersion = version;
                    _logger.TicketKeysChanged(keys.Length / TicketKeyRing.KeyEntryLength, stale.Length);
                }
                foreach (WorkerProcess worker in stale)
                {
                    if (worker.TrySendTicketKeys(body.AsSpan(0, length)))
                        worker.TicketKeysVersion = version;
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(keys);
                CryptographicOperations.ZeroMemory(body);
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
