using System.Net;
using System.Security.Cryptography;
using static Baton.Tests.Channel.ChannelTestKit;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// The channel fields of client certificates, OCSP staples and the shared ticket ring, decoded strictly: round trips, and
/// malformed, truncated and oversized values refused with their reason (and no key bytes left in a refused message).
/// </summary>
public sealed class TlsFeatureChannelTests
{
    private static byte[] Field(byte tag, params byte[] value) => [tag, .. BitConverter.GetBytes((uint)value.Length), .. value];

    private static byte[] Item(params byte[] value) => [.. BitConverter.GetBytes((uint)value.Length), .. value];

    private static readonly byte[] PassthroughCore = [.. Field(1, 1), .. Field(2, "app"u8.ToArray())];

    private static readonly byte[] HandoffCore = [.. Field(1, 2), .. Field(2, "app"u8.ToArray()), .. Field(8, new byte[16])];

    /// <summary>A small real certificate's DER (what the front hands on).</summary>
    private static byte[] CertificateDer()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=alice", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        return certificate.RawData;
    }

    private static ChannelError Refusal(byte[] body) =>
        Assert.Throws<ChannelProtocolException>(() => ConnectionFacts.ReadFrom(body, out _)).Error;

    [Fact]
    public void TicketKeysRoundTrip()
    {
        byte[] keys = RandomNumberGenerator.GetBytes(3 * 80);
        byte[] body = new byte[TicketKeysUpdate.EncodedLength(keys.Length)];
        int length = new TicketKeysUpdate(keys.ToArray()).WriteTo(body);

        TicketKeysUpdate received = TicketKeysUpdate.ReadFrom(body.AsSpan(0, length));
        Assert.Equal(keys, received.Keys);
        received.Wipe();
        Assert.All(received.Keys, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(79)]
    [InlineData(81)]
    [InlineData(65 * 80)]
    public void TicketKeysOfTheWrongLengthAreRefused(int length)
    {
        ChannelProtocolException error = Assert.Throws<ChannelProtocolException>(() => TicketKeysUpdate.ReadFrom(Field(1, new byte[length])));
        Assert.Contains(error.Error, new[] { ChannelError.InvalidFieldValue, ChannelError.FieldTooLarge });
    }

    [Fact]
    public void TicketKeysWithAnUnknownFieldADuplicateOrATruncationAreRefused()
    {
        byte[] keys = new byte[80];
        Assert.Equal(ChannelError.UnknownField, Assert.Throws<ChannelProtocolException>(() => TicketKeysUpdate.ReadFrom([.. Field(1, keys), .. Field(2, 0)])).Error);
        Assert.Equal(ChannelError.DuplicateField, Assert.Throws<ChannelProtocolException>(() => TicketKeysUpdate.ReadFrom([.. Field(1, keys), .. Field(1, keys)])).Error);
        Assert.Equal(ChannelError.FieldLengthOverrun, Assert.Throws<ChannelProtocolException>(() => TicketKeysUpdate.ReadFrom(Field(1, keys)[..40])).Error);
        Assert.Equal(ChannelError.MissingField, Assert.Throws<ChannelProtocolException>(() => TicketKeysUpdate.ReadFrom([])).Error);
    }

    [Fact]
    public void TicketKeysGoOnlyFromTheFrontWithABodyAndNoConnectionId()
    {
        (ChannelSocket front, ChannelSocket worker) = CreateConnectedPair();
        using (front)
        using (worker)
        {
            byte[] buffer = new byte[ChannelSocket.MaxBodyLength];
            byte[] body = Field(1, new byte[80]);
            SendRaw(worker, [.. Header((ushort)MessageType.TicketKeys, 0, (uint)body.Length), .. body]);
            Assert.Equal(ChannelError.WrongDirection, Assert.Throws<ChannelProtocolException>(() => front.Receive(buffer)).Error);
            SendRaw(front, [.. Header((ushort)MessageType.TicketKeys, 5, (uint)body.Length), .. body]);
            Assert.Equal(ChannelError.BadConnectionId, Assert.Throws<ChannelProtocolException>(() => worker.Receive(buffer)).Error);
            SendRaw(front, Header((ushort)MessageType.TicketKeys, 0, 0));
            Assert.Equal(ChannelError.MissingBody, Assert.Throws<ChannelProtocolException>(() => worker.Receive(buffer)).Error);
            Assert.True(front.TrySend(MessageType.TicketKeys, 0, body, null));
            Assert.Equal(MessageType.TicketKeys, worker.Receive(buffer).Type);
        }
    }

    [Fact]
    public void AClientCertificateChainRoundTripsInHandoffFacts()
    {
        byte[] leaf = CertificateDer();
        var facts = new ConnectionFacts { Mode = HandoffMode.Handoff, Pool = "app", TlsStateLength = 16, ClientCertificateChain = [leaf, CertificateDer()] };
        byte[] buffer = new byte[facts.EncodedLengthUpperBound];
        int length = facts.WriteTo(buffer, out _);

        ConnectionFacts received = ConnectionFacts.ReadFrom(buffer.AsSpan(0, length), out _);
        Assert.Equal(2, received.ClientCertificateChain.Count);
        Assert.Equal(leaf, received.ClientCertificateChain[0]);
    }

    [Fact]
    public void APolicyNumberRoundTripsInPassthroughFacts()
    {
        var facts = new ConnectionFacts { Mode = HandoffMode.Passthrough, Pool = "app", RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 1), ClientCertificatePolicy = 3 };
        byte[] buffer = new byte[facts.EncodedLengthUpperBound];
        int length = facts.WriteTo(buffer, out _);
        Assert.Equal(3, ConnectionFacts.ReadFrom(buffer.AsSpan(0, length), out _).ClientCertificatePolicy);
    }

    [Fact]
    public void ClientCertificateFieldsInTheWrongModeAreRefused()
    {
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. HandoffCore, .. Field(11, 1)]));
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. PassthroughCore, .. Field(12, Item(CertificateDer()))]));
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. PassthroughCore, .. Field(11, 33)]));
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. PassthroughCore, .. Field(11, 1, 2)]));
    }

    [Fact]
    public void AChainThatIsNotDerOrTooLargeIsRefused()
    {
        byte[] der = CertificateDer();
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. HandoffCore, .. Field(12, Item("not a certificate"u8.ToArray()))]));
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. HandoffCore, .. Field(12, Item([.. der, 0]))]));
        Assert.Equal(ChannelError.InvalidFieldValue, Refusal([.. HandoffCore, .. Field(12, Item())]));
        Assert.Equal(ChannelError.FieldTooLarge, Refusal([.. HandoffCore, .. Field(12, Item(new byte[ClientCertificateChainCodec.MaxCertificateLength + 1]))]));
        byte[] eleven = [.. Enumerable.Repeat(der, 11).SelectMany(Item)];
        Assert.NotEqual(ChannelError.None, Refusal([.. HandoffCore, .. Field(12, eleven)]));
        Assert.Equal(ChannelError.FieldLengthOverrun, Refusal([.. HandoffCore, .. Field(12, Item(der))[..20]]));
    }

    [Fact]
    public void ClientCertificateSettingsAndStaplesRoundTripInWorkerSettings()
    {
        var settings = new WorkerSettings
        {
            Pool = "tls", Mode = HandoffMode.Passthrough, HandshakeTimeout = TimeSpan.FromSeconds(5),
            Certificates = [new CertificateMaterial { ServerNames = ["localhost"], CertificateChainPem = "chain"u8.ToArray(), PrivateKeyPem = "key"u8.ToArray() }],
            OcspResponses = ["response"u8.ToArray()],
            ClientCertificates =
            [
                new ClientCertificateMaterial { Mode = ClientCertificateMode.Required, VerifyDepth = 3, TrustedCaPem = "ca"u8.ToArray(), CrlPem = "crl"u8.ToArray() },
                new ClientCertificateMaterial { Mode = ClientCertificateMode.Optional, VerifyDepth = 1, TrustedCaPem = "ca2"u8.ToArray() },
            ],
        };
        byte[] buffer = new byte[ChannelSocket.MaxBodyLength];
        WorkerSettings received = WorkerSettings.ReadFrom(buffer.AsSpan(0, settings.WriteTo(buffer)));

        Assert.Equal("response"u8.ToArray(), received.OcspResponses.Single());
        Assert.Equal(2, received.ClientCertificates.Count);
        Assert.Equal(ClientCertificateMode.Required, received.ClientCertificates[0].Mode);
        Assert.Equal(3, received.ClientCertificates[0].VerifyDepth);
        Assert.Equal("crl"u8.ToArray(), received.ClientCertificates[0].CrlPem);
        Assert.Empty(received.ClientCertificates[1].CrlPem);
    }

    [Theory]
    [InlineData(0, 3)] // mode None
    [InlineData(3, 3)] // no such mode
    [InlineData(2, 0)] // depth 0
    [InlineData(2, 17)] // deeper than allowed
    public void AClientCertificateSettingOutOfRangeIsRefused(byte mode, byte depth)
    {
        byte[] policy = [.. Field(1, mode), .. Field(2, depth), .. Field(3, "ca"u8.ToArray())];
        byte[] body = [.. Field(1, "tls"u8.ToArray()), .. Field(2, 1), .. Field(5, BitConverter.GetBytes(5000u)), .. Field(9, Item(policy))];
        Assert.Equal(ChannelError.InvalidFieldValue, Assert.Throws<ChannelProtocolException>(() => WorkerSettings.ReadFrom(body)).Error);
    }

    [Fact]
    public void HandoffWorkersGetNoClientCertificateSettings()
    {
        byte[] policy = [.. Field(1, 2), .. Field(2, 3), .. Field(3, "ca"u8.ToArray())];
        byte[] body = [.. Field(1, "tls"u8.ToArray()), .. Field(2, 2), .. Field(5, BitConverter.GetBytes(5000u)), .. Field(9, Item(policy))];
        Assert.Equal(ChannelError.InvalidFieldValue, Assert.Throws<ChannelProtocolException>(() => WorkerSettings.ReadFrom(body)).Error);
    }
}
