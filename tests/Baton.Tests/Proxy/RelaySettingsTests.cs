namespace Baton.Tests.Proxy;

/// <summary>A proxy pool's Configure body: the relay fields round-trip, and malformed ones are refused with a channel error.</summary>
public sealed class RelaySettingsTests
{
    private static WorkerSettings ProxySettings(RelaySettings? relay = null) => new()
    {
        Pool = "relay",
        Mode = HandoffMode.Proxy,
        HandshakeTimeout = TimeSpan.FromSeconds(7),
        Relay = relay ?? new RelaySettings
        {
            Backends = ["127.0.0.1:8080", "[::1]:9000", "backend.internal:80", "/run/app.sock"],
            ConnectTimeout = TimeSpan.FromMilliseconds(1500),
            SendProxyProtocol = true,
            ClientIdleTimeout = TimeSpan.FromSeconds(30),
            BackendIdleTimeout = TimeSpan.FromSeconds(45),
            MaxRetryBackoff = TimeSpan.FromSeconds(8),
        },
    };

    private static byte[] Encode(WorkerSettings settings)
    {
        byte[] buffer = new byte[ChannelSocket.MaxBodyLength];
        return buffer[..settings.WriteTo(buffer)];
    }

    private static byte[] Field(byte tag, params byte[] value) => [tag, .. BitConverter.GetBytes((uint)value.Length), .. value];

    /// <summary>Pool, mode proxy, handshake timeout: the core fields every Configure body has.</summary>
    private static readonly byte[] ProxyCore = [.. Field(1, "relay"u8.ToArray()), .. Field(2, 3), .. Field(5, BitConverter.GetBytes(7000u))];

    private static byte[] Item(string text) => [.. BitConverter.GetBytes((uint)text.Length), .. System.Text.Encoding.UTF8.GetBytes(text)];

    private static byte[] RelayFields(byte[]? backends = null, byte[]? idle = null) =>
    [
        .. Field(15, backends ?? Item("127.0.0.1:8080")), .. Field(16, BitConverter.GetBytes(1000u)), .. Field(17, 0),
        .. Field(18, idle ?? [.. BitConverter.GetBytes(1000u), .. BitConverter.GetBytes(2000u)]), .. Field(19, BitConverter.GetBytes(30000u)),
    ];

    [Fact]
    public void RelaySettingsRoundTrip()
    {
        WorkerSettings read = WorkerSettings.ReadFrom(Encode(ProxySettings()));
        Assert.Equal(HandoffMode.Proxy, read.Mode);
        RelaySettings relay = read.Relay!;
        Assert.Equal(["127.0.0.1:8080", "[::1]:9000", "backend.internal:80", "/run/app.sock"], relay.Backends);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), relay.ConnectTimeout);
        Assert.True(relay.SendProxyProtocol);
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(45)), (relay.ClientIdleTimeout, relay.BackendIdleTimeout));
        Assert.Equal(TimeSpan.FromSeconds(8), relay.MaxRetryBackoff);
        Assert.Empty(read.Certificates);
    }

    [Fact]
    public void TheHandWrittenBodyIsRead()
    {
        RelaySettings relay = WorkerSettings.ReadFrom([.. ProxyCore, .. RelayFields()]).Relay!;
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), (relay.ClientIdleTimeout, relay.BackendIdleTimeout));
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "no relay fields", ProxyCore },
        { "relay fields for a handoff worker", [.. Field(1, "relay"u8.ToArray()), .. Field(2, 2), .. Field(5, BitConverter.GetBytes(7000u)), .. RelayFields()] },
        { "no backends", [.. ProxyCore, .. RelayFields(backends: [])] },
        { "a backend that is no address", [.. ProxyCore, .. RelayFields(backends: Item("nowhere"))] },
        { "65 backends", [.. ProxyCore, .. RelayFields(backends: [.. Enumerable.Range(0, 65).SelectMany(i => Item($"127.0.0.1:{1000 + i}"))])] },
        { "a truncated backend item", [.. ProxyCore, .. RelayFields(backends: [9, 0, 0, 0, (byte)'1'])] },
        { "idle timeouts of 4 bytes", [.. ProxyCore, .. RelayFields(idle: BitConverter.GetBytes(1000u))] },
        { "a zero idle timeout", [.. ProxyCore, .. RelayFields(idle: [.. BitConverter.GetBytes(0u), .. BitConverter.GetBytes(1u)])] },
        { "proxy flag 2", [.. ProxyCore, .. Field(15, Item("127.0.0.1:8080")), .. Field(16, BitConverter.GetBytes(1000u)), .. Field(17, 2),
            .. Field(18, new byte[8] { 1, 0, 0, 0, 1, 0, 0, 0 }), .. Field(19, BitConverter.GetBytes(1000u))] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedRelayFieldsAreRefused(string what, byte[] body)
    {
        Assert.True(Assert.ThrowsAny<ChannelProtocolException>(() => WorkerSettings.ReadFrom(body)) is not null, what);
    }

    [Fact]
    public void TheSenderRefusesProxyWithoutRelayAndRelayWithoutProxy()
    {
        Assert.Throws<ArgumentException>(() => Encode(new WorkerSettings { Pool = "p", Mode = HandoffMode.Proxy, HandshakeTimeout = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentException>(() => Encode(new WorkerSettings
        {
            Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(1), Relay = ProxySettings().Relay,
        }));
    }

    [Fact]
    public void RelayWorkersNeverGetKeys()
    {
        WorkerSettings settings = ProxySettings();
        var keyed = new WorkerSettings
        {
            Pool = settings.Pool, Mode = settings.Mode, HandshakeTimeout = settings.HandshakeTimeout, Relay = settings.Relay,
            TicketKeys = new byte[80],
        };
        Assert.Throws<ArgumentException>(() => Encode(keyed));
    }
}
