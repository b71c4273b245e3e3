using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// The real counters of one <see cref="BatonMetrics"/>, summed per instrument and tags: its meter is created by this
/// object's factory, and the listener takes only that meter's instruments, so tests running in parallel (each with
/// a meter named "Baton") never count into each other.
/// </summary>
internal sealed class MetricTotals : IDisposable
{
    private readonly Factory _factory = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public MetricTotals()
    {
        Metrics = new BatonMetrics(_factory);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == _factory)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _totals.AddOrUpdate(Key(instrument.Name, tags), value, (_, total) => total + value));
        _listener.Start();
    }

    public BatonMetrics Metrics { get; }

    /// <summary>The total of <paramref name="instrument"/> for measurements with exactly these tags (as "name=value").</summary>
    public long Total(string instrument, params string[] tags) =>
        _totals.GetValueOrDefault(instrument + "{" + string.Join(',', tags.Order(StringComparer.Ordinal)) + "}");

    private static string Key(string instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var names = new List<string>();
        foreach (KeyValuePair<string, object?> tag in tags)
            names.Add($"{tag.Key}={tag.Value}");
        return instrument + "{" + string.Join(',', names.Order(StringComparer.Ordinal)) + "}";
    }

    public void Dispose()
    {
        _listener.Dispose();
        Metrics.Dispose();
        _factory.Dispose();
    }

    private sealed class Factory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            lock (_meters) _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            lock (_meters)
            {
                foreach (Meter meter in _meters)
                    meter.Dispose();
            }
        }
    }
}
