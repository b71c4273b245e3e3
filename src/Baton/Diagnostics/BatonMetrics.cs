using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Baton.Diagnostics;

/// <summary>The front's counters, published on the "Baton" meter (dotnet-counters monitor -n baton --counters Baton).</summary>
internal sealed partial class BatonMetrics : IDisposable
{
    public const string MeterName = "Baton";

    private readonly Meter _meter;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _handedOff;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _workerRestarts;
    private readonly Counter<long> _workersHung;
    private readonly Counter<long> _handedBack;

    public BatonMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _accepted = _meter.CreateCounter<long>("baton.connections.accepted", "{connection}", "Connections accepted by the front");
        _handedOff = _meter.CreateCounter<long>("baton.connections.handed_off", "{connection}", "Connections acknowledged by a worker");
        _failed = _meter.CreateCounter<long>("baton.connections.failed", "{connection}", "Connections the front closed, by reason");
        _workerRestarts = _meter.CreateCounter<long>("baton.workers.restarts", "{restart}", "Workers restarted after they exited");
        _workersHung = _meter.CreateCounter<long>("baton.workers.hung", "{worker}", "Workers killed for leaving a ping or a connection unanswered");
        _handedBack = _meter.CreateCounter<long>("baton.connections.handed_back", "{connection}",
            "Live connections a worker handed back and another worker took (per-request routing, deploys), by pool left and pool reached");
        CreateOperatorInstruments();
    }

    public void Accepted(string listener) => _accepted.Add(1, new KeyValuePair<string, object?>("listener", listener));

    public void HandedOff(string pool) => _handedOff.Add(1, new KeyValuePair<string, object?>("pool", pool));

    public void HandedBack(string fromPool, string pool) => _handedBack.Add(1,
        new KeyValuePair<string, object?>("from_pool", fromPool), new KeyValuePair<string, object?>("pool", pool));

    public void Failed(string reason) => _failed.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void WorkerRestarted(string pool) => _workerRestarts.Add(1, new KeyValuePair<string, object?>("pool", pool));

    public void WorkerHung(string pool) => _workersHung.Add(1, new KeyValuePair<string, object?>("pool", pool));

    public void Dispose() => _meter.Dispose();
}
