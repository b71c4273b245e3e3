using System.Diagnostics.Metrics;

namespace Baton.Diagnostics;

/// <summary>A pool and the connections each of its running workers serves, read when the gauges are collected.</summary>
internal readonly record struct PoolLoad(string Pool, IReadOnlyList<WorkerLoad> Workers);

internal readonly record struct WorkerLoad(int Pid, int Connections);

/// <summary>One served certificate: its first server name, its serial number (hex) and when it expires.</summary>
internal readonly record struct CertificateExpiry(string Name, string Serial, DateTimeOffset NotAfter);

/// <summary>
/// The instruments an operator's dashboards and alerts read (docs/monitoring.md): handshakes, dispatch latency and
/// the gauges of what the front holds now. Labels are bounded by the configuration (pools, certificates, TLS versions
/// and suites) and by running workers' pids, never by connections or clients.
/// </summary>
internal sealed partial class BatonMetrics
{
    /// <summary>Seconds, from 100 µs (a dispatch to an idle worker) to 5 s (past any sane DispatchTimeout).</summary>
    private static readonly double[] DispatchBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private Counter<long> _handshakes = null!;
    private Histogram<double> _dispatchDuration = null!;
    private volatile Func<int>? _frontConnections;
    private volatile Func<IEnumerable<PoolLoad>>? _pools;
    private volatile IReadOnlyList<CertificateExpiry> _certificates = [];

    private void CreateOperatorInstruments()
    {
        _handshakes = _meter.CreateCounter<long>("baton.tls.handshakes", "{handshake}",
            "TLS handshakes the front completed (handoff mode), by version, suite and resumption");
        _dispatchDuration = _meter.CreateHistogram("baton.dispatch.duration", "s",
            "From sending a connection to a worker to its Ack, for connections handed off", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = DispatchBuckets });
        _meter.CreateObservableGauge("baton.front.connections", () => _frontConnections?.Invoke() ?? 0, "{connection}",
            "Connections the front holds now (accepted, not yet handed off)");
        _meter.CreateObservableGauge("baton.pool.connections", ObservePools, "{connection}",
            "Connections the workers of a pool serve now");
        _meter.CreateObservableGauge("baton.worker.connections", ObserveWorkers, "{connection}",
            "Connections one running worker serves now");
        _meter.CreateObservableGauge("baton.tls.certificate.time_to_expiry", ObserveCertificates, "s",
            "Seconds until a served certificate expires (negative once it has)");
    }

    /// <summary>A completed handshake; <paramref name="protocol"/> as OpenSSL names it ("TLSv1.3"), labelled as OpenTelemetry does ("1.3").</summary>
    public void Handshake(string protocol, string cipher, bool resumed) => _handshakes.Add(1,
        new KeyValuePair<string, object?>("tls.protocol.version", protocol.StartsWith("TLSv", StringComparison.Ordinal) ? protocol[4..] : protocol),
        new KeyValuePair<string, object?>("tls.cipher", cipher),
        new KeyValuePair<string, object?>("tls.resumed", resumed ? "true" : "false"));

    public void Dispatched(string pool, TimeSpan duration) =>
        _dispatchDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("pool", pool));

    /// <summary>What the gauges read: the front's held connections and its pools. Set once the front has them.</summary>
    public void ObserveFront(Func<int> heldConnections, Func<IEnumerable<PoolLoad>> pools)
    {
        _frontConnections = heldConnections;
        _pools = pools;
    }

    /// <summary>The certificates the expiry gauge reports; called again whenever the served certificates change.</summary>
    public void ObserveCertificates(IReadOnlyList<CertificateExpiry> certificates) => _certificates = certificates;

    private IEnumerable<Measurement<int>> ObservePools() =>
        (_pools?.Invoke() ?? []).Select(pool => new Measurement<int>(pool.Workers.Sum(w => w.Connections), new KeyValuePair<string, object?>("pool", pool.Pool)));

    private IEnumerable<Measurement<int>> ObserveWorkers() =>
        (_pools?.Invoke() ?? []).SelectMany(pool => pool.Workers.Select(worker => new Measurement<int>(worker.Connections,
            new KeyValuePair<string, object?>("pool", pool.Pool), new KeyValuePair<string, object?>("pid", worker.Pid))));

    private IEnumerable<Measurement<double>> ObserveCertificates()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return _certificates.Select(certificate => new Measurement<double>(Math.Round((certificate.NotAfter - now).TotalSeconds),
            new KeyValuePair<string, object?>("certificate", certificate.Name), new KeyValuePair<string, object?>("serial", certificate.Serial)));
    }
}
