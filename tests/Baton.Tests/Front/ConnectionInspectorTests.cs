using System.Net;
using System.Net.Sockets;
using System.Text;
using Baton.Tests.Infrastructure;
using Baton.Tests.Inspection;
using Baton.Tests.IO;

namespace Baton.Tests.Front;

/// <summary>
/// The front's reading before routing, on real loopback sockets: what is consumed, what is only peeked, and the
/// reason each bad or slow client is closed with. Splits across segments are made, not hoped for: the second part is
/// sent once the inspector has raised SO_RCVLOWAT, i.e. once it has seen the first part and waits for more.
/// </summary>
public sealed class ConnectionInspectorTests : IDisposable
{
    private static readonly TimeSpan Generous = LoopbackPair.Deadline;
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private const int MaxHello = 16 * 1024;

    private readonly SocketPoller _poller = new();

    public void Dispose() => _poller.Dispose();

    public static TheoryData<string> ProxyVersions => new() { "v1", "v2" };

    [Theory]
    [MemberData(nameof(ProxyVersions))]
    public async Task AProxyHeaderIsConsumedExactlyAndTheClientHelloOnlyPeeked(string version)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        (byte[] header, IPEndPoint source) = version == "v1"
            ? (Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n"), IPEndPoint.Parse("203.0.113.7:51234"))
            : (ProxyV2(IPAddress.Parse("2001:db8::7"), 40000, IPAddress.Parse("2001:db8::1"), 443), IPEndPoint.Parse("[2001:db8::7]:40000"));
        byte[] hello = ClientHelloBuilder.Typical().Build();
        pair.Send([.. header, .. hello]);

        ProxyHeader proxy = await ConnectionInspector.ReadProxyHeaderAsync(socket, Generous, CancellationToken.None).WaitAsync(Generous);
        Assert.Equal(source, proxy.Source);
        Assert.Equal(header.Length, proxy.Length);
        ClientHelloInfo info = await ConnectionInspector.PeekClientHelloAsync(socket, MaxHello, Generous, CancellationToken.None).WaitAsync(Generous);
        Assert.Equal("a.example", info.ServerName);
        Assert.Equal(hello.Length, info.Length);

        // The TLS stack that runs the handshake gets the ClientHello whole, starting at its first byte.
        Assert.Equal(hello, await ReceiveExactlyAsync(socket, hello.Length));
    }

    [Fact]
    public async Task AProxyHeaderSplitAcrossSegmentsIsWaitedFor()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        byte[] header = ProxyV2(IPAddress.Parse("198.51.100.9"), 1234, IPAddress.Parse("192.0.2.1"), 443);
        Task<ProxyHeader> reading = ConnectionInspector.ReadProxyHeaderAsync(socket, Generous, CancellationToken.None);

        await SendInTwoAsync(pair, [.. header, .. "after"u8], 10);
        ProxyHeader proxy = await reading.WaitAsync(Generous);
        Assert.Equal(IPEndPoint.Parse("198.51.100.9:1234"), proxy.Source);
        Assert.Equal("after"u8.ToArray(), await ReceiveExactlyAsync(socket, 5));
    }

    [Fact]
    public async Task AClientHelloInManyRecordsAndTwoSegmentsIsPeekedWhole()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        byte[] hello = ClientHelloBuilder.Typical("split.example").Build(fragmentSize: 40);
        Task<ClientHelloInfo> peeking = ConnectionInspector.PeekClientHelloAsync(socket, MaxHello, Generous, CancellationToken.None);

        await SendInTwoAsync(pair, hello, 60);
        ClientHelloInfo info = await peeking.WaitAsync(Generous);
        Assert.Equal("split.example", info.ServerName);
        Assert.Equal(["h2", "http/1.1"], info.ApplicationProtocols);
        Assert.Equal(hello, await ReceiveExactlyAsync(socket, hello.Length));
    }

    [Fact]
    public async Task AnOpenSslClientsHelloIsPeekedAndLeftForTheHandshake()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using ChildProcess client = ChildProcess.Start("openssl",
            ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "Real.Example", "-alpn", "h2,http/1.1"]);
        using var socket = new PolledSocket(await Task.Run(listener.Accept).WaitAsync(Generous), _poller);

        ClientHelloInfo info = await ConnectionInspector.PeekClientHelloAsync(socket, MaxHello, Generous, CancellationToken.None).WaitAsync(Generous);
        Assert.Equal("real.example", info.ServerName);
        Assert.Equal(["h2", "http/1.1"], info.ApplicationProtocols);
        byte[] received = await ReceiveExactlyAsync(socket, info.Length);
        Assert.Equal(0x16, received[0]);
    }

    /// <summary>Each with the answer libssl gives the same bytes (s_server: HandshakeBehaviourTests); plain HTTP gets the front's 400.</summary>
    public static TheoryData<string, string, int?> BadStarts => new()
    {
        { "plain", RejectReason.PlainHttp, null },
        { "not tls", RejectReason.ClientHelloInvalid, null },
        { "not a hello", RejectReason.ClientHelloUnexpectedRecord, 10 },
        { "bad sni", RejectReason.ClientHelloInvalid, 50 },
        { "too large", RejectReason.ClientHelloTooLarge, 47 },
    };

    [Theory]
    [MemberData(nameof(BadStarts))]
    public async Task ABadClientHelloIsRejectedWithItsReasonAndAlert(string kind, string reason, int? alert)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        var big = ClientHelloBuilder.Typical();
        big.Extensions.Add((21, new byte[1000])); // padding
        var badSni = ClientHelloBuilder.Typical();
        badSni.Extensions[1] = (0, ClientHelloBuilder.ServerNameList((0, "a.example"u8.ToArray()), (0, "b.example"u8.ToArray())));
        pair.Send(kind switch
        {
            "plain" => "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(),
            "not tls" => "SSH-2.0-OpenSSH_9.6\r\n"u8.ToArray(),
            "not a hello" => [0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00],
            "bad sni" => badSni.Build(),
            _ => big.Build(),
        });

        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() =>
            ConnectionInspector.PeekClientHelloAsync(socket, 512, Generous, CancellationToken.None).WaitAsync(Generous));
        Assert.Equal((reason, (byte?)alert), (rejected.Reason, rejected.Alert));
    }

    /// <summary>Where libssl reads the hello: one handshake-record byte is enough, and none of it is consumed.</summary>
    [Fact]
    public async Task WaitingForAHandshakeLooksAtTheFirstByteOnly()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send([0x16]);
        await ConnectionInspector.WaitForHandshakeAsync(socket, MaxHello, Generous, CancellationToken.None).WaitAsync(Generous);
        Assert.Equal([0x16], await ReceiveExactlyAsync(socket, 1));
    }

    /// <summary>Anything else gets the peek's answer there too.</summary>
    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n", RejectReason.PlainHttp)]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n", RejectReason.ClientHelloInvalid)]
    [InlineData("", RejectReason.ClientHelloTimeout)]
    public async Task WaitingForAHandshakeAnswersWhatIsNoneAsThePeekDoes(string sent, string reason)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send(Encoding.ASCII.GetBytes(sent));
        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() =>
            ConnectionInspector.WaitForHandshakeAsync(socket, MaxHello, sent.Length == 0 ? Short : Generous, CancellationToken.None).WaitAsync(Generous));
        Assert.Equal(reason, rejected.Reason);
    }

    [Fact]
    public async Task ABadProxyHeaderIsRejected()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send("PROXY TCP4 999.0.0.1 192.0.2.1 1 2\r\n"u8);
        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() =>
            ConnectionInspector.ReadProxyHeaderAsync(socket, Generous, CancellationToken.None).WaitAsync(Generous));
        Assert.Equal(RejectReason.ProxyHeaderInvalid, rejected.Reason);
    }

    public static TheoryData<string, bool> Stalls => new()
    {
        { "proxy", false }, { "proxy", true }, { "hello", false }, { "hello", true },
    };

    /// <summary>A client that stops half-way (or sends nothing) is closed at the step's deadline, with that step's reason.</summary>
    [Theory]
    [MemberData(nameof(Stalls))]
    public async Task AStalledClientTimesOutWithTheStepsReason(string step, bool sendsPart)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        if (sendsPart) pair.Send(step == "proxy" ? "PROXY TCP4 "u8 : ClientHelloBuilder.Typical().Build().AsSpan(0, 30));

        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() => Inspect(socket, step, Short));
        Assert.Equal(step == "proxy" ? RejectReason.ProxyHeaderTimeout : RejectReason.ClientHelloTimeout, rejected.Reason);
    }

    [Theory]
    [InlineData("proxy")]
    [InlineData("hello")]
    public async Task APeerThatClosesMidwayIsRejectedAsPeerClosed(string step)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send(step == "proxy" ? "PROXY TCP4 203.0.113.7"u8 : ClientHelloBuilder.Typical().Build().AsSpan(0, 30));
        pair.Client.Shutdown(SocketShutdown.Send);

        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() => Inspect(socket, step, Generous));
        Assert.Equal(RejectReason.PeerClosed, rejected.Reason);
    }

    [Theory]
    [InlineData("proxy", false)]
    [InlineData("hello", false)]
    [InlineData("hello", true)]
    public async Task APeerThatClosesBeforeSendingAnythingIsAPreconnect(string step, bool resets)
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        if (resets)
            pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close();

        ConnectionRejectedException rejected = await Assert.ThrowsAsync<ConnectionRejectedException>(() => Inspect(socket, step, Generous));
        Assert.Equal(RejectReason.Preconnect, rejected.Reason);
    }

    [Fact]
    public async Task StoppingTheFrontIsNotARejection()
    {
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        using var stopping = new CancellationTokenSource();
        Task<ClientHelloInfo> peeking = ConnectionInspector.PeekClientHelloAsync(socket, MaxHello, Generous, stopping.Token);
        await Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the inspector waits");
        stopping.Cancel();
        Exception stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => peeking.WaitAsync(Generous));
        Assert.IsNotType<ConnectionRejectedException>(stopped);
    }

    private static Task Inspect(PolledSocket socket, string step, TimeSpan timeout) => (step == "proxy"
        ? ConnectionInspector.ReadProxyHeaderAsync(socket, timeout, CancellationToken.None)
        : (Task)ConnectionInspector.PeekClientHelloAsync(socket, MaxHello, timeout, CancellationToken.None)).WaitAsync(Generous);

    /// <summary>Sends <paramref name="first"/> bytes, waits until the inspector has seen them and waits for more, then the rest.</summary>
    private static async Task SendInTwoAsync(LoopbackPair pair, byte[] bytes, int first)
    {
        pair.Send(bytes.AsSpan(0, first));
        await Wait.UntilAsync(() => pair.ServerReceiveLowWater == first + 1, $"the inspector waits for byte {first + 1}");
        pair.Send(bytes.AsSpan(first));
    }

    private static async Task<byte[]> ReceiveExactlyAsync(PolledSocket socket, int count)
    {
        byte[] received = new byte[count];
        for (int total = 0; total < count;)
        {
            int read = await socket.ReceiveAsync(received.AsMemory(total), CancellationToken.None).AsTask().WaitAsync(Generous);
            Assert.NotEqual(0, read);
            total += read;
        }
        return received;
    }

    private static byte[] ProxyV2(IPAddress source, int sourcePort, IPAddress destination, int destinationPort)
    {
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        byte family = source.AddressFamily == AddressFamily.InterNetworkV6 ? (byte)0x21 : (byte)0x11;
        byte[] body =
        [
            .. source.GetAddressBytes(), .. destination.GetAddressBytes(),
            (byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort,
        ];
        return [.. signature, 0x21, family, (byte)(body.Length >> 8), (byte)body.Length, .. body];
    }
}
