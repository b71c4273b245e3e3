using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Diagnostics;

/// <summary>The bounded failure log, on a fake clock: per reason and interval, a few lines, then one summary.</summary>
public sealed class ConnectionFailureLogTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint Client = new(IPAddress.Loopback, 40000);

    private readonly FakeTimeProvider _time = new();
    private readonly CollectingLogger _logger = new();
    private readonly ConnectionFailureLog _log;

    public ConnectionFailureLogTests() => _log = new ConnectionFailureLog(_logger, _time, Interval, linesPerReason: 3);

    [Fact]
    public void FailuresUnderTheBoundAreLoggedOneLineEachAndNotSummarised()
    {
        Fail(1, "client_hello_timeout");
        Fail(2, "client_hello_timeout");
        Fail(3, "plain_http");
        _time.Advance(Interval);

        Assert.Equal(
            ["connection 1 from 127.0.0.1:40000 failed: reason=client_hello_timeout: detail 1",
             "connection 2 from 127.0.0.1:40000 failed: reason=client_hello_timeout: detail 2",
             "connection 3 from 127.0.0.1:40000 failed: reason=plain_http: detail 3"],
            _logger.Lines.Select(l => l.Message));
        Assert.All(_logger.Lines, l => Assert.Equal(LogLevel.Warning, l.Level));
    }

    [Fact]
    public void AFloodIsTheFirstLinesPerReasonThenOneSummaryPerReasonWhenTheIntervalEnds()
    {
        for (ulong id = 1; id <= 2000; id++)
            Fail(id, id % 2 == 0 ? "client_hello_timeout" : "plain_http");
        Assert.Equal(6, _logger.Lines.Count);

        // Not a tick early.
        _time.Advance(Interval - TimeSpan.FromTicks(1));
        Assert.Equal(6, _logger.Lines.Count);
        _time.Advance(TimeSpan.FromTicks(1));

        Assert.Equal(
            ["connection failures in the last 10 s: reason=client_hello_timeout count=1000 (the first 3 logged above; first not logged: connection 8 from 127.0.0.1:40000: detail 8)",
             "connection failures in the last 10 s: reason=plain_http count=1000 (the first 3 logged above; first not logged: connection 7 from 127.0.0.1:40000: detail 7)"],
            _logger.Lines.Skip(6).Select(l => l.Message).Order(StringComparer.Ordinal));
        Assert.Equal(LogLevel.Warning, _logger.Lines[^1].Level);
    }

    [Fact]
    public void EveryIntervalStartsAtZero()
    {
        for (ulong id = 1; id <= 5; id++)
            Fail(id, "handshake_failed");
        _time.Advance(Interval);
        Assert.Equal(4, _logger.Lines.Count);

        // A new interval: the first three are logged again, and a quiet interval writes nothing.
        for (ulong id = 6; id <= 8; id++)
            Fail(id, "handshake_failed");
        _time.Advance(Interval);
        _time.Advance(Interval);

        Assert.Equal(7, _logger.Lines.Count);
        Assert.EndsWith("reason=handshake_failed: detail 8", _logger.Lines[^1].Message);
    }

    [Fact]
    public void DisposingWritesTheUnfinishedIntervalAndStopsTheClock()
    {
        for (ulong id = 1; id <= 4; id++)
            Fail(id, "no_worker");
        _log.Dispose();
        _time.Advance(3 * Interval);

        Assert.Equal(4, _logger.Lines.Count);
        Assert.Contains("reason=no_worker count=4 ", _logger.Lines[^1].Message);
    }

    private void Fail(ulong id, string reason) => _log.Failed(id, Client, reason, $"detail {id}");

    public void Dispose() => _log.Dispose();
}
