using System.Buffers;
using System.Text;

namespace Baton.Tests.Workers;

/// <summary>The worker's request-boundary gate: what reaches the application, where it stops, and when every request is answered.</summary>
public sealed class HandbackGateTests
{
    private static readonly RouteTable Routes = new([new RouteOptions { PathPrefix = "/api/", Pool = "api" }], "default");

    private static HandbackGate Gate() => new(() => Routes, "main", "localhost", "default");

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private const string Own = "POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello";
    private const string OwnChunked = "POST /b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n";
    private const string OwnHead = "HEAD /c HTTP/1.1\r\nHost: localhost\r\n\r\n";
    private const string Foreign = "GET /api/x HTTP/1.1\r\nHost: localhost\r\n\r\n";
    private const string After = "GET /d HTTP/1.1\r\nHost: localhost\r\n\r\n";

    /// <summary>Feeds in pieces of <paramref name="piece"/> bytes until the gate stops; returns what reached the application.</summary>
    private static (string Application, GateVerdict Verdict) Feed(HandbackGate gate, string input, int piece)
    {
        var application = new ArrayBufferWriter<byte>();
        byte[] data = Bytes(input);
        for (int offset = 0; offset < data.Length; offset += piece)
        {
            GateVerdict verdict = gate.Feed(data.AsSpan(offset, Math.Min(piece, data.Length - offset)), application);
            if (verdict != GateVerdict.Continue)
                return (Encoding.Latin1.GetString(application.WrittenSpan), verdict);
        }
        return (Encoding.Latin1.GetString(application.WrittenSpan), GateVerdict.Continue);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100_000)]
    public void OwnRequestsPassAndTheFirstForeignHeadStopsWithEverythingAfterItHeld(int piece)
    {
        HandbackGate gate = Gate();
        var (application, verdict) = Feed(gate, Own + OwnChunked + OwnHead + Foreign + After, piece);
        Assert.Equal(GateVerdict.Boundary, verdict);
        Assert.Equal(Own + OwnChunked + OwnHead, application);
        // Fed in pieces, the gate stops within the piece that completes the foreign head: the rest of that piece is held too.
        string held = Encoding.Latin1.GetString(gate.Held);
        Assert.StartsWith(Foreign, held);
        Assert.StartsWith(held, Foreign + After, StringComparison.Ordinal);
        Assert.False(gate.AllAnswered);
    }

    [Fact]
    public void ResponsesAreCountedUntilEveryRequestIsAnswered()
    {
        HandbackGate gate = Gate();
        Feed(gate, Own + OwnHead + Foreign, 1000);
        gate.OnResponseBytes(new ReadOnlySequence<byte>(Bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
        Assert.False(gate.AllAnswered);
        // The HEAD's answer has a Content-Length but no body.
        gate.OnResponseBytes(new ReadOnlySequence<byte>(Bytes("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")));
        Assert.True(gate.AllAnswered);
        Assert.False(gate.CannotHandBack);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")]
    [InlineData("HTTP/1.1 200 OK\r\n\r\nuntil the end")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")]
    public void AResponseThatEndsOrChangesTheConnectionForbidsTheHandback(string response)
    {
        HandbackGate gate = Gate();
        Feed(gate, Own + Foreign, 1000);
        gate.OnResponseBytes(new ReadOnlySequence<byte>(Bytes(response)));
        Assert.True(gate.CannotHandBack);
        Assert.NotNull(gate.CannotHandBackReason);
    }

    [Theory]
    [InlineData("GET /x HTTP/1.1\nHost: a\r\n\r\n", null)]
    [InlineData("\r\n\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n", null)]
    public void AHeadThatCannotBeRoutedGoesToTheFrontToAnswer(string head, string? held)
    {
        HandbackGate gate = Gate();
        var (application, verdict) = Feed(gate, Own + head, 1000);
        Assert.Equal((GateVerdict.Boundary, Own), (verdict, application));
        Assert.Equal(held ?? head, Encoding.Latin1.GetString(gate.Held));
    }

    [Fact]
    public void AnEmptyLineOrTwoBeforeTheNextRequestIsIgnored()
    {
        HandbackGate gate = Gate();
        var (application, verdict) = Feed(gate, Own + "\r\n" + OwnHead + "\r\n\r\n" + Foreign, 1);
        Assert.Equal((GateVerdict.Boundary, Own + OwnHead), (verdict, application));
        Assert.Equal(Foreign, Encoding.Latin1.GetString(gate.Held));
    }

    [Fact]
    public void AnOversizedHeadIsHeldAtTheLimitAndNotPassedOn()
    {
        HandbackGate gate = Gate();
        string huge = "GET /x HTTP/1.1\r\nX: " + new string('a', HttpHeadLimits.DefaultMaxHeadBytes) + "\r\n\r\n";
        var (application, verdict) = Feed(gate, huge, 4096);
        Assert.Equal((GateVerdict.Boundary, ""), (verdict, application));
    }

    [Fact]
    public void BrokenBodyFramingStopsEverything()
    {
        HandbackGate gate = Gate();
        var (application, verdict) = Feed(gate, "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + After, 1000);
        Assert.Equal(GateVerdict.Broken, verdict);
        Assert.DoesNotContain("GET /d", application);
        Assert.True(gate.Held.IsEmpty);
    }
    [Fact]
    public void OnceDrainingEveryNextHeadIsABoundaryEvenWithoutHostOrPathRoutes()
    {
        using var draining = new CancellationTokenSource();
        var bySni = new RouteTable([], "default");
        var gate = new HandbackGate(() => bySni, "main", "localhost", "default", draining: draining.Token);
        var (application, verdict) = Feed(gate, Own + Foreign, 100_000);
        Assert.Equal(GateVerdict.Continue, verdict);
        Assert.Equal(Own + Foreign, application);

        draining.Cancel();
        (application, verdict) = Feed(gate, After, 100_000);
        Assert.Equal(GateVerdict.Boundary, verdict);
        Assert.Equal("", application);
        Assert.Equal(After, Encoding.Latin1.GetString(gate.Held));
    }

    [Fact]
    public void RoutesReplacedByAReloadDecideTheNextHead()
    {
        RouteTable current = new([], "default");
        var gate = new HandbackGate(() => current, "main", "localhost", "default");
        Assert.Equal(GateVerdict.Continue, Feed(gate, Foreign, 100_000).Verdict);

        current = Routes;
        var (application, verdict) = Feed(gate, Foreign, 100_000);
        Assert.Equal(GateVerdict.Boundary, verdict);
        Assert.Equal("", application);
    }
}
