using System.Net;
using System.Text;

namespace Baton.Tests.Channel;

public class ChannelBodyTests
{
    private static readonly byte[] State = Enumerable.Range(0, 824).Select(i => (byte)i).ToArray();

    private static ConnectionFacts HandoffFacts() => new()
    {
        Mode = HandoffMode.Handoff,
        Pool = "app",
        RemoteEndPoint = new IPEndPoint(IPAddress.Parse("fe80::1%3"), 51234),
        LocalEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.10"), 443),
        ServerName = "www.example.com",
        OfferedAlpn = ["h2", "http/1.1"],
        NegotiatedAlpn = "http/1.1",
        TlsStateLength = State.Length,
        InitialData = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"u8.ToArray(),
    };

    private static WorkerSettings PassthroughSettings() => new()
    {
        Pool = "tls-pool",
        Mode = HandoffMode.Passthrough,
        AcceptedAlpn = ["h2", "http/1.1"],
        HandshakeTimeout = TimeSpan.FromSeconds(7),
        Certificates =
        [
            new CertificateMaterial { ServerNames = ["example.com", "*.example.com"], CertificateChainPem = "chain"u8.ToArray(), PrivateKeyPem = "key-one"u8.ToArray() },
            new CertificateMaterial { ServerNames = ["other.test"], CertificateChainPem = "chain2"u8.ToArray(), PrivateKeyPem = "key-two"u8.ToArray() },
        ],
        TicketKeys = Enumerable.Range(1, 160).Select(i => (byte)i).ToArray(),
        TicketsPerHandshake = 16,
    };

    /// <summary>Encodes the facts with <see cref="State"/> (cut to the facts' length) in the TLS state's slot.</summary>
    private static byte[] Encode(ConnectionFacts facts)
    {
        var buffer = new byte[ChannelSocket.MaxBodyLength];
        int length = facts.WriteTo(buffer, out Span<byte> state);
        State.AsSpan(0, state.Length).CopyTo(state);
        return buffer.AsSpan(0, length).ToArray();
    }

    private static byte[] Encode(WorkerSettings settings)
    {
        var buffer = new byte[ChannelSocket.MaxBodyLength];
        return buffer.AsSpan(0, settings.WriteTo(buffer)).ToArray();
    }

    private static byte[] Field(byte tag, params byte[] value) => [tag, .. BitConverter.GetBytes((uint)value.Length), .. value];

    private static byte[] Item(params byte[] value) => [.. BitConverter.GetBytes((uint)value.Length), .. value];

    private static readonly byte[] ValidPassthroughCore = [.. Field(1, 1), .. Field(2, "app"u8.ToArray())];

    [Fact]
    public void HandoffFactsRoundTrip()
    {
        var sent = HandoffFacts();
        byte[] body = Encode(sent);
        var received = ConnectionFacts.ReadFrom(body, out ReadOnlySpan<byte> state);

        Assert.Equal(sent.Mode, received.Mode);
        Assert.Equal(sent.Pool, received.Pool);
        Assert.Equal(sent.RemoteEndPoint, received.RemoteEndPoint);
        Assert.Equal(3, received.RemoteEndPoint!.Address.ScopeId);
        Assert.Equal(sent.LocalEndPoint, received.LocalEndPoint);
        Assert.Equal(sent.ServerName, received.ServerName);
        Assert.Equal(sent.OfferedAlpn, received.OfferedAlpn);
        Assert.Equal(sent.NegotiatedAlpn, received.NegotiatedAlpn);
        Assert.Equal(State, state.ToArray());
        Assert.Equal(State.Length, received.TlsStateLength);
        // Not copied: the state is read where it lies in the body.
        Assert.True(body.AsSpan().Overlaps(state));
        Assert.Equal(sent.InitialData.ToArray(), received.InitialData.ToArray());
    }

    [Fact]
    public void MinimalPassthroughFactsRoundTripWithOpaqueAlpnBytes()
    {
        var sent = new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = "p", OfferedAlpn = ["\u00ff\u0001", "h2"] };
        var received = ConnectionFacts.ReadFrom(Encode(sent), out ReadOnlySpan<byte> state);

        Assert.Equal(HandoffMode.Passthrough, received.Mode);
        Assert.Equal(sent.OfferedAlpn, received.OfferedAlpn);
        Assert.Null(received.RemoteEndPoint);
        Assert.Null(received.ServerName);
        Assert.True(state.IsEmpty);
        Assert.Equal(0, received.TlsStateLength);
    }

    [Fact]
    public void WipeZeroesInitialData()
    {
        var received = ConnectionFacts.ReadFrom(Encode(HandoffFacts()), out _);
        Assert.Contains(received.InitialData.ToArray(), b => b != 0);
        received.Wipe();
        Assert.All(received.InitialData.ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void WorkerSettingsRoundTripAndWipeZeroesPrivateKeys()
    {
        var sent = PassthroughSettings();
        var received = WorkerSettings.ReadFrom(Encode(sent));

        Assert.Equal(sent.Pool, received.Pool);
        Assert.Equal(sent.Mode, received.Mode);
        Assert.Equal(sent.AcceptedAlpn, received.AcceptedAlpn);
        Assert.Equal(sent.HandshakeTimeout, received.HandshakeTimeout);
        Assert.Equal(2, received.Certificates.Count);
        Assert.Equal(sent.Certificates[0].ServerNames, received.Certificates[0].ServerNames);
        Assert.Equal(sent.Certificates[1].CertificateChainPem, received.Certificates[1].CertificateChainPem);
        Assert.Equal("key-two"u8.ToArray(), received.Certificates[1].PrivateKeyPem);
        Assert.Equal(sent.TicketKeys, received.TicketKeys);
        Assert.Equal(16, received.TicketsPerHandshake);

        received.Wipe();
        Assert.All(received.Certificates, c => Assert.All(c.PrivateKeyPem, b => Assert.Equal(0, b)));
        Assert.All(received.TicketKeys, b => Assert.Equal(0, b));
    }

    [Fact]
    public void SenderRefusesInconsistentValues()
    {
        var buffer = new byte[ChannelSocket.MaxBodyLength];
        Assert.Throws<ArgumentException>(() => new ConnectionFacts { Mode = HandoffMode.Handoff, Pool = "p" }.WriteTo(buffer, out _));
        Assert.Throws<ArgumentException>(() => new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = "p", TlsStateLength = 1 }.WriteTo(buffer, out _));
        Assert.Throws<ArgumentException>(() => new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = "" }.WriteTo(buffer, out _));
        Assert.Throws<ArgumentException>(() => new ConnectionFacts { Mode = HandoffMode.Handoff, Pool = "p", TlsStateLength = 4097 }.WriteTo(buffer, out _));
        Assert.Throws<ArgumentException>(() => HandoffFacts().WriteTo(new byte[100], out _));
        Assert.Throws<ArgumentException>(() => new WorkerSettings
        {
            Pool = "p", Mode = HandoffMode.Handoff, HandshakeTimeout = TimeSpan.FromSeconds(1), Certificates = PassthroughSettings().Certificates,
        }.WriteTo(buffer));
    }

    public static TheoryData<string, byte[], int> MalformedFacts() => new()
    {
        { "field header cut", [1, 1, 0], (int)ChannelError.FieldHeaderTruncated },
        { "length past the end", [.. Field(1, 1), 2, 9, 0, 0, 0, (byte)'a'], (int)ChannelError.FieldLengthOverrun },
        { "huge length", [2, 0xFF, 0xFF, 0xFF, 0xFF, (byte)'a'], (int)ChannelError.FieldLengthOverrun },
        { "duplicate tag", [.. ValidPassthroughCore, .. Field(1, 1)], (int)ChannelError.DuplicateField },
        { "unknown tag", [.. ValidPassthroughCore, .. Field(40, 1)], (int)ChannelError.UnknownField },
        { "tag zero", [.. ValidPassthroughCore, .. Field(0)], (int)ChannelError.UnknownField },
        { "tag 200", [.. ValidPassthroughCore, .. Field(200)], (int)ChannelError.UnknownField },
        { "no pool", Field(1, 1), (int)ChannelError.MissingField },
        { "empty body", [], (int)ChannelError.MissingField },
        { "mode 3", [.. Field(1, 3), .. Field(2, (byte)'p')], (int)ChannelError.InvalidFieldValue },
        { "mode two bytes", [.. Field(1, 1, 0), .. Field(2, (byte)'p')], (int)ChannelError.InvalidFieldValue },
        { "pool not UTF-8", [.. Field(1, 1), .. Field(2, 0xC3, 0x28)], (int)ChannelError.InvalidFieldValue },
        { "pool too long", [.. Field(1, 1), .. Field(2, new byte[256])], (int)ChannelError.FieldTooLarge },
        { "endpoint 5 bytes", [.. ValidPassthroughCore, .. Field(3, 1, 2, 3, 4, 5)], (int)ChannelError.InvalidFieldValue },
        { "alpn item overrun", [.. ValidPassthroughCore, .. Field(6, 5, 0, 0, 0, (byte)'h')], (int)ChannelError.FieldLengthOverrun },
        { "alpn item header cut", [.. ValidPassthroughCore, .. Field(6, 1, 0)], (int)ChannelError.FieldHeaderTruncated },
        { "alpn empty item", [.. ValidPassthroughCore, .. Field(6, Item())], (int)ChannelError.InvalidFieldValue },
        { "alpn 65 items", [.. ValidPassthroughCore, .. Field(6, Enumerable.Repeat(Item((byte)'x'), 65).SelectMany(b => b).ToArray())], (int)ChannelError.FieldTooLarge },
        { "tls state in passthrough", [.. ValidPassthroughCore, .. Field(8, 1)], (int)ChannelError.InvalidFieldValue },
        { "tls state too large", [.. Field(1, 2), .. Field(2, (byte)'p'), .. Field(8, new byte[4097])], (int)ChannelError.FieldTooLarge },
        { "initial data too large", [.. ValidPassthroughCore, .. Field(9, new byte[65537])], (int)ChannelError.FieldTooLarge },
        { "handoff without state", [.. Field(1, 2), .. Field(2, (byte)'p')], (int)ChannelError.InvalidFieldValue },
    };

    [Theory]
    [MemberData(nameof(MalformedFacts))]
    public void MalformedConnectionFactsAreRefused(string name, byte[] body, int expectedValue)
    {
        var expected = (ChannelError)expectedValue;
        var error = Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadFrom(body, out _));
        Assert.True(expected == error.Error, $"{name}: expected {expected}, got {error.Error}");
    }

    public static TheoryData<string, byte[], int> MalformedSettings() => new()
    {
        { "no timeout", [.. Field(1, (byte)'p'), .. Field(2, 1)], (int)ChannelError.MissingField },
        { "zero timeout", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 0, 0, 0, 0)], (int)ChannelError.InvalidFieldValue },
        { "certificate without key", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0),
            .. Field(4, Item([.. Field(1, Item((byte)'a')), .. Field(2, (byte)'c')]))], (int)ChannelError.MissingField },
        { "certificate duplicate tag", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0),
            .. Field(4, Item([.. Field(2, (byte)'c'), .. Field(2, (byte)'c')]))], (int)ChannelError.DuplicateField },
        { "certificates in handoff", [.. Field(1, (byte)'p'), .. Field(2, 2), .. Field(5, 1, 0, 0, 0),
            .. Field(4, Item([.. Field(1, Item((byte)'a')), .. Field(2, (byte)'c'), .. Field(3, (byte)'k')]))], (int)ChannelError.InvalidFieldValue },
        { "ticket keys of 79 bytes", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0), .. Field(7, new byte[79])], (int)ChannelError.InvalidFieldValue },
        { "ticket keys in handoff", [.. Field(1, (byte)'p'), .. Field(2, 2), .. Field(5, 1, 0, 0, 0), .. Field(7, new byte[80])], (int)ChannelError.InvalidFieldValue },
        { "65 ticket keys", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0), .. Field(7, new byte[65 * 80])], (int)ChannelError.FieldTooLarge },
        { "17 tickets per handshake", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0), .. Field(8, 17)], (int)ChannelError.InvalidFieldValue },
        { "ticket count of two bytes", [.. Field(1, (byte)'p'), .. Field(2, 1), .. Field(5, 1, 0, 0, 0), .. Field(8, 2, 0)], (int)ChannelError.InvalidFieldValue },
    };

    [Theory]
    [MemberData(nameof(MalformedSettings))]
    public void MalformedWorkerSettingsAreRefused(string name, byte[] body, int expectedValue)
    {
        var expected = (ChannelError)expectedValue;
        var error = Assert.Throws<ChannelProtocolException>(() => WorkerSettings.ReadFrom(body));
        Assert.True(expected == error.Error, $"{name}: expected {expected}, got {error.Error}");
    }

    [Fact]
    public void ConfigureCarryingRetiredTag6IsRefused()
    {
        // Tag 6 was DieOnConnection, a test hook that made the worker exit: a front that still sends it
        // must find its worker refusing the Configure, not quietly ignoring it.
        byte[] body = Encode(PassthroughSettings());
        WorkerSettings.ReadFrom(body).Wipe();

        var error = Assert.Throws<ChannelProtocolException>(() => WorkerSettings.ReadFrom([.. body, .. Field(6, 1)]));
        Assert.Equal(ChannelError.UnknownField, error.Error);
    }

    [Fact]
    public void EveryTruncationAndByteFlipEitherDecodesOrFailsAsAProtocolError()
    {
        byte[][] bodies = [Encode(HandoffFacts()), Encode(PassthroughSettings())];
        var random = new Random(1234);
        foreach (byte[] body in bodies)
        {
            for (int length = 0; length < body.Length; length++)
            {
                AssertOnlyProtocolErrors(body.AsSpan(0, length).ToArray());
            }
            for (int i = 0; i < 2000; i++)
            {
                byte[] mutated = (byte[])body.Clone();
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                AssertOnlyProtocolErrors(mutated);
            }
        }
    }

    private static void AssertOnlyProtocolErrors(byte[] body)
    {
        foreach (Action decode in new Action[] { () => ConnectionFacts.ReadFrom(body, out _), () => WorkerSettings.ReadFrom(body) })
        {
            try
            {
                decode();
            }
            catch (ChannelProtocolException)
            {
            }
        }
    }
}
