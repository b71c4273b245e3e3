using Baton.Tests.Tls;
using static Baton.Tests.Channel.ChannelTestKit;

namespace Baton.Tests.Channel;

/// <summary>The Certificates message (type 9) of a reload: its body read as strictly as Configure, its header rules enforced.</summary>
public sealed class CertificateUpdateTests : IDisposable
{
    private const ushort CertificatesType = (ushort)MessageType.Certificates;

    private readonly ChannelSocket _front;
    private readonly ChannelSocket _worker;
    private readonly byte[] _buffer = new byte[ChannelSocket.MaxBodyLength];

    public CertificateUpdateTests() => (_front, _worker) = CreateConnectedPair();

    public void Dispose()
    {
        _front.Dispose();
        _worker.Dispose();
    }

    private static CertificateMaterial Material(string name = "localhost") => new()
    {
        ServerNames = [name],
        CertificateChainPem = TestCertificates.Localhost.CertificatePem,
        PrivateKeyPem = [.. TestCertificates.Localhost.PrivateKeyPem],
    };

    private static byte[] Encode(params CertificateMaterial[] certificates)
    {
        byte[] body = new byte[ChannelSocket.MaxBodyLength];
        return body[..new CertificateUpdate { Certificates = certificates }.WriteTo(body)];
    }

    [Fact]
    public void RoundTripsAndWipesItsKeys()
    {
        CertificateUpdate received = CertificateUpdate.ReadFrom(Encode(Material("a.example"), Material("b.example")));

        Assert.Equal(["a.example", "b.example"], received.Certificates.Select(c => c.ServerNames.Single()));
        Assert.Equal(TestCertificates.Localhost.PrivateKeyPem, received.Certificates[0].PrivateKeyPem);
        received.Wipe();
        Assert.All(received.Certificates, c => Assert.All(c.PrivateKeyPem, b => Assert.Equal(0, b)));
    }

    [Fact]
    public void ASenderCannotSendNoCertificate() =>
        Assert.Throws<ArgumentException>(() => Encode());

    public static TheoryData<string, byte[]> MalformedBodies()
    {
        byte[] valid = Encode(Material());
        byte[] unknownTag = [.. valid, 9, 0, 0, 0, 0];
        // Field 1 with a length past the end of the body.
        byte[] overrun = [.. valid[..5], .. valid[5..^10]];
        byte[] noCertificates = [1, 0, 0, 0, 0];
        byte[] duplicate = [.. valid, .. valid];
        return new()
        {
            { "unknown tag", unknownTag },
            { "truncated", overrun },
            { "empty list", noCertificates },
            { "field twice", duplicate },
            { "no field", [0] },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void AMalformedBodyIsRefused(string what, byte[] body)
    {
        var refused = Assert.Throws<ChannelProtocolException>(() => CertificateUpdate.ReadFrom(body));
        Assert.True(refused.Error != ChannelError.None, what);
    }

    [Fact]
    public void ACertificateWithoutItsKeyIsRefused()
    {
        // One item holding only the names field (tag 1) and the chain (tag 2).
        var writer = new ChannelBodyWriter(_buffer);
        int list = writer.BeginField(1);
        int item = writer.BeginItem();
        int names = writer.BeginField(1);
        writer.WriteStringItem("localhost", System.Text.Encoding.UTF8);
        writer.EndField(names);
        writer.WriteField(2, TestCertificates.Localhost.CertificatePem);
        writer.EndItem(item);
        writer.EndField(list);
        byte[] body = _buffer[..writer.Written];

        Assert.Equal(ChannelError.MissingField, Assert.Throws<ChannelProtocolException>(() => CertificateUpdate.ReadFrom(body)).Error);
    }

    [Fact]
    public void WithAConnectionIdTheWorkerRefusesIt() =>
        AssertRefused(_front, _worker, ChannelError.BadConnectionId, [.. Header(CertificatesType, 5, 1), 1], fdCount: 0);

    [Fact]
    public void WithoutABodyTheWorkerRefusesIt() =>
        AssertRefused(_front, _worker, ChannelError.MissingBody, Header(CertificatesType, 0, 0), fdCount: 0);

    [Fact]
    public void WithADescriptorTheWorkerRefusesItAndClosesTheDescriptor() =>
        AssertRefused(_front, _worker, ChannelError.UnexpectedFd, [.. Header(CertificatesType, 0, 1), 1], fdCount: 1);

    [Fact]
    public void TheFrontNeverReceivesIt() =>
        AssertRefused(_worker, _front, ChannelError.WrongDirection, [.. Header(CertificatesType, 0, 1), 1], fdCount: 0);

    [Fact]
    public void TheSenderKeepsTheRulesToo()
    {
        Assert.Throws<ArgumentException>(() => _front.Send(MessageType.Certificates, 1, [1]));
        Assert.Throws<ArgumentException>(() => _worker.Send(MessageType.Certificates, 0, [1]));
    }

    private void AssertRefused(ChannelSocket from, ChannelSocket to, ChannelError expected, byte[] message, int fdCount) =>
        ChannelTestKit.AssertRefused(from, to, expected, message, fdCount, _buffer);
}
