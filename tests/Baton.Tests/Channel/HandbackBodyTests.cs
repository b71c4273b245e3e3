using System.Net;

namespace Baton.Tests.Channel;

/// <summary>The Handback body (a Connection body that names its listener) and the routes a handoff worker is configured with.</summary>
public sealed class HandbackBodyTests
{
    private static readonly byte[] State = Enumerable.Range(0, 200).Select(i => (byte)(i + 1)).ToArray();

    private static ConnectionFacts Facts(HandoffMode mode = HandoffMode.Handoff, string? listener = "public") => new()
    {
        Mode = mode,
        Pool = "default",
        Listener = listener,
        RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 40000),
        ServerName = "localhost",
        NegotiatedAlpn = mode == HandoffMode.Handoff ? "http/1.1" : null,
        TlsStateLength = mode == HandoffMode.Handoff ? State.Length : 0,
        InitialData = "GET /api/x HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(),
        InitialCiphertext = mode == HandoffMode.Handoff ? new byte[] { 23, 3, 3, 0, 1 } : default,
    };

    private static byte[] Encode(ConnectionFacts facts)
    {
        var buffer = new byte[ChannelSocket.MaxBodyLength];
        int length = facts.WriteTo(buffer, out Span<byte> state);
        State.AsSpan(0, state.Length).CopyTo(state);
        return buffer[..length];
    }

    [Fact]
    public void AHandbackIsRedispatchedWithOnlyThePoolChanged()
    {
        byte[] body = Encode(Facts());
        ConnectionFacts received = ConnectionFacts.ReadHandback(body, out ReadOnlySpan<byte> state);
        Assert.Equal(("public", "default"), (received.Listener, received.Pool));
        Assert.Equal(State, state.ToArray());

        var redirected = new byte[body.Length + 16];
        int length = ConnectionFacts.WithPool(body, "api", redirected);
        ConnectionFacts again = ConnectionFacts.ReadFrom(redirected.AsSpan(0, length), out ReadOnlySpan<byte> stateAgain);
        Assert.Equal("api", again.Pool);
        Assert.Equal(State, stateAgain.ToArray());
        Assert.Equal((received.Listener, received.ServerName, received.RemoteEndPoint, received.NegotiatedAlpn),
            (again.Listener, again.ServerName, again.RemoteEndPoint, again.NegotiatedAlpn));
        Assert.Equal(received.InitialData.ToArray(), again.InitialData.ToArray());
        Assert.Equal(received.InitialCiphertext.ToArray(), again.InitialCiphertext.ToArray());
        Assert.Throws<ArgumentException>(() => ConnectionFacts.WithPool(body, "", redirected));
    }

    [Fact]
    public void AHandbackMustCarryAHandoffSessionAndItsListener()
    {
        var passthrough = Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadHandback(Encode(Facts(HandoffMode.Passthrough)), out _));
        Assert.Equal(ChannelError.InvalidFieldValue, passthrough.Error);
        var noListener = Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadHandback(Encode(Facts(listener: null)), out _));
        Assert.Equal(ChannelError.InvalidFieldValue, noListener.Error);
        // A listener name that is not UTF-8, or empty, is refused like every name.
        byte[] bad = [.. Encode(Facts(listener: null)), 16, 1, 0, 0, 0, 0xFF];
        Assert.Equal(ChannelError.InvalidFieldValue, Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadHandback(bad, out _)).Error);
        byte[] empty = [.. Encode(Facts(listener: null)), 16, 0, 0, 0, 0];
        Assert.Equal(ChannelError.InvalidFieldValue, Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadHandback(empty, out _)).Error);
    }

    [Fact]
    public void EveryTruncationOfAHandbackBodyFailsAsAProtocolError()
    {
        byte[] body = Encode(Facts());
        for (int length = 0; length < body.Length; length++)
        {
            byte[] cut = body[..length];
            try
            {
                ConnectionFacts.ReadHandback(cut, out _).Wipe();
            }
            catch (ChannelProtocolException)
            {
            }
        }
    }

    private static WorkerSettings HandoffSettings(RouteTable? routes) => new()
    {
        Pool = "default",
        Mode = HandoffMode.Handoff,
        HandshakeTimeout = TimeSpan.FromSeconds(5),
        Routes = routes,
    };

    private static readonly RouteTable SampleRoutes = new(
    [
        new RouteOptions { Listener = "public", ServerNames = ["api.example", "*.api.example"], PathPrefix = "/v2/", Pool = "v2" },
        new RouteOptions { Hosts = ["shop.example"], PathPrefix = "/café/", Pool = "shop" },
        new RouteOptions { ServerNames = ["x.example"], Pool = "x" },
    ], "default");

    private static byte[] Encode(WorkerSettings settings)
    {
        var buffer = new byte[ChannelSocket.MaxBodyLength];
        return buffer[..settings.WriteTo(buffer)];
    }

    [Fact]
    public void RoutesTravelInTheConfigureBodyAndRouteTheSame()
    {
        WorkerSettings received = WorkerSettings.ReadFrom(Encode(HandoffSettings(SampleRoutes)));
        RouteTable routes = received.Routes!;
        Assert.Equal("default", routes.DefaultPool);
        Assert.Equal(3, routes.Routes.Count);
        foreach (var (listener, sni, host, path) in new (string, string?, string?, string?)[]
        {
            ("public", "a.api.example", "a.api.example", "/v2/x"), ("other", "api.example", "api.example", "/v2/x"),
            ("public", null, "shop.example", "/CAFÉ/cart"), ("public", "x.example", "y", "/"), ("public", null, null, null),
        })
        {
            Assert.Equal(SampleRoutes.SelectWithRequest(listener, sni, host, path), routes.SelectWithRequest(listener, sni, host, path));
        }
        Assert.Null(WorkerSettings.ReadFrom(Encode(HandoffSettings(null))).Routes);
    }

    [Fact]
    public void MalformedRoutesAreRefused()
    {
        byte[] valid = Encode(HandoffSettings(null));
        byte[] Field(byte tag, params byte[] value) => [tag, .. BitConverter.GetBytes((uint)value.Length), .. value];
        byte[] Item(params byte[] value) => [.. BitConverter.GetBytes((uint)value.Length), .. value];
        byte[] defaultPool = Field(21, "d"u8.ToArray());

        ChannelError Refusal(byte[] body) => Assert.Throws<ChannelProtocolException>(() => WorkerSettings.ReadFrom(body)).Error;

        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. valid, .. Field(20)])); // routes without a default pool
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. valid, .. defaultPool])); // and the other way round
        Assert.Equal(ChannelError.MissingField, Refusal([.. valid, .. Field(20, Item(Field(1, "l"u8.ToArray()))), .. defaultPool]));
        Assert.Equal(ChannelError.UnknownField, Refusal([.. valid, .. Field(20, Item([.. Field(9, 1), .. Field(5, "p"u8.ToArray())])), .. defaultPool]));
        Assert.Equal(ChannelError.FieldTooLarge, Refusal([.. valid, .. Field(20, Item([.. Field(4, new byte[4097]), .. Field(5, "p"u8.ToArray())])), .. defaultPool]));
        Assert.Equal(ChannelError.FieldLengthOverrun, Refusal([.. valid, .. Field(20, 1, 0, 0, 0)]));
        byte[] manyNames = [.. Enumerable.Range(0, 257).SelectMany(_ => Item("n"u8.ToArray()))];
        Assert.Equal(ChannelError.FieldTooLarge, Refusal([.. valid, .. Field(20, Item([.. Field(2, manyNames), .. Field(5, "p"u8.ToArray())])), .. defaultPool]));

        // Passthrough workers never route requests: the front terminates nothing for them.
        var passthrough = new WorkerSettings { Pool = "p", Mode = HandoffMode.Passthrough, HandshakeTimeout = TimeSpan.FromSeconds(1), Routes = SampleRoutes };
        Assert.Throws<ArgumentException>(() => passthrough.WriteTo(new byte[4096]));
    }
}
