using static Baton.Tests.Channel.ChannelTestKit;

namespace Baton.Tests.Channel;

/// <summary>The Routes message (type 14) of a reload: its body read as strictly as Configure's routes, its header rules enforced.</summary>
public sealed class RoutesUpdateTests : IDisposable
{
    private const ushort RoutesType = (ushort)MessageType.Routes;

    private readonly ChannelSocket _front;
    private readonly ChannelSocket _worker;
    private readonly byte[] _buffer = new byte[ChannelSocket.MaxBodyLength];

    public RoutesUpdateTests() => (_front, _worker) = CreateConnectedPair();

    public void Dispose()
    {
        _front.Dispose();
        _worker.Dispose();
    }

    private static readonly RouteTable Table = new(
        [new RouteOptions { PathPrefix = "/api/", Pool = "api" }, new RouteOptions { Hosts = ["static.example"], Pool = "static" }], "default");

    private static byte[] Encode(RouteTable table)
    {
        byte[] body = new byte[ChannelSocket.MaxBodyLength];
        return body[..new RoutesUpdate { Routes = table }.WriteTo(body)];
    }

    [Fact]
    public void RoundTrips()
    {
        RouteTable received = RoutesUpdate.ReadFrom(Encode(Table)).Routes;
        Assert.Equal("default", received.DefaultPool);
        Assert.Equal(["api", "static"], received.Routes.Select(r => r.Pool));
        Assert.Equal("api", received.SelectWithRequest("main", null, "localhost", "/api/x"));
        Assert.Equal("static", received.SelectWithRequest("main", null, "static.example", "/"));
        Assert.True(received.NeedsRequest);
    }

    [Fact]
    public void NoRoutesAtAllIsAValidUpdate() => Assert.Empty(RoutesUpdate.ReadFrom(Encode(new RouteTable([], "default"))).Routes.Routes);

    [Fact]
    public void ASenderCannotSendAnUnnamedDefaultPool() =>
        Assert.Throws<ArgumentException>(() => Encode(new RouteTable([], "")));

    public static TheoryData<string, byte[]> MalformedBodies()
    {
        byte[] valid = Encode(Table);
        return new()
        {
            { "unknown tag", [.. valid, 9, 0, 0, 0, 0] },
            { "truncated", valid[..^3] },
            { "field twice", [.. valid, .. valid] },
            { "empty", [] },
            { "no field", [0] },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void AMalformedBodyIsRefused(string what, byte[] body)
    {
        var refused = Assert.Throws<ChannelProtocolException>(() => RoutesUpdate.ReadFrom(body));
        Assert.True(refused.Error != ChannelError.None, what);
    }

    [Fact]
    public void EachFieldIsRequired()
    {
        byte[] valid = Encode(Table);
        // The default pool's field is the body's last 12 bytes (tag, length, "default"): without it, then with it alone.
        byte[] routesOnly = valid[..^12];
        byte[] defaultOnly = Encode(new RouteTable([], "default"))[^12..];
        Assert.Equal(ChannelError.MissingField, Assert.Throws<ChannelProtocolException>(() => RoutesUpdate.ReadFrom(routesOnly)).Error);
        Assert.Equal(ChannelError.MissingField, Assert.Throws<ChannelProtocolException>(() => RoutesUpdate.ReadFrom(defaultOnly)).Error);
    }

    [Fact]
    public void WithAConnectionIdTheWorkerRefusesIt() =>
        AssertRefused(_front, _worker, ChannelError.BadConnectionId, [.. Header(RoutesType, 5, 1), 1], fdCount: 0);

    [Fact]
    public void WithoutABodyTheWorkerRefusesIt() =>
        AssertRefused(_front, _worker, ChannelError.MissingBody, Header(RoutesType, 0, 0), fdCount: 0);

    [Fact]
    public void WithADescriptorTheWorkerRefusesItAndClosesTheDescriptor() =>
        AssertRefused(_front, _worker, ChannelError.UnexpectedFd, [.. Header(RoutesType, 0, 1), 1], fdCount: 1);

    [Fact]
    public void TheFrontNeverReceivesIt() =>
        AssertRefused(_worker, _front, ChannelError.WrongDirection, [.. Header(RoutesType, 0, 1), 1], fdCount: 0);

    private void AssertRefused(ChannelSocket from, ChannelSocket to, ChannelError expected, byte[] message, int fdCount) =>
        ChannelTestKit.AssertRefused(from, to, expected, message, fdCount, _buffer);
}
