using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Baton.Tests.Inspection;
using Baton.Tests.IO;

namespace Baton.Tests.Front;

/// <summary>
/// The front's TLS termination on real loopback sockets against a real TLS client (SslStream, OpenSSL underneath):
/// each guard ends the connection with its reason, bad heads are answered over TLS, h2 is not read.
/// </summary>
public sealed class HandoffTerminationTests : IDisposable
{
    private static readonly TimeSpan Generous = LoopbackPair.Deadline;
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private static readonly IReadOnlyList<string> H2Pool = ["h2", "http/1.1"];

    private readonly SocketPoller _poller = new();
    private readonly CertificateStore _certificates = CertificateStore.Load([], DateTimeOffset.UtcNow, out _)!;
    /// <summary>Room for 100 connections and none held: no pressure unless a test holds some.</summary>
    private readonly ConnectionSlots _slots = new(100, Short, NullLogger.Instance);

    public void Dispose()
    {
        _poller.Dispose();
        _certificates.Dispose();
        _slots.Dispose();
    }

    private HandoffTermination Create(TimeSpan? hello = null, TimeSpan? handshake = null, TimeSpan? head = null, int maxHello = 16384) => new(
        new BatonOptions
        {
            Limits = new LimitOptions
            {
                ClientHelloTimeout = hello ?? Generous, HandshakeTimeout = handshake ?? Generous, RequestHeadTimeout = head ?? Generous,
                MaxRequestHeadBytes = 4096, ClientHelloMaxBytes = maxHello,
            },
        },
        _certificates, _slots);

    [Fact]
    public async Task UnderConnectionPressureAStalledHelloIsCutAtThePressureTimeout()
    {
        for (int i = 0; i < 80; i++)
            await _slots.AcquireAsync(CancellationToken.None);
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send(ClientHelloBuilder.Typical().Build().AsSpan(0, 30));

        // The configured hello timeout is the generous one; 80 of 100 slots held cut this wait to the pressure timeout.
        // (libssl reads the hello in handoff mode, so a stall inside it is the hello's timeout.)
        ConnectionRejectedException rejection = await Assert.ThrowsAsync<ConnectionRejectedException>(
            () => termination.TerminateAsync(socket, _ => H2Pool, CancellationToken.None).WaitAsync(Generous / 3));
        Assert.Equal(RejectReason.ClientHelloTimeout, rejection.Reason);
        Assert.Contains($"within {Short}", rejection.Message);
    }

    /// <summary>Until libssl has the whole hello the hello's bound applies, then the handshake's: the order a peek gives.</summary>
    [Theory]
    [InlineData("part of the hello", RejectReason.ClientHelloTimeout)]
    [InlineData("the hello, then nothing", RejectReason.HandshakeTimeout)]
    public async Task AStallTimesOutWithTheReasonOfItsStep(string sent, string reason)
    {
        using HandoffTermination termination = Create(hello: Short, handshake: Short);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        byte[] hello = EndToEnd.CraftedHello.Handshake(EndToEnd.CraftedHello.Message()); // TLS 1.2: libssl answers, then waits
        pair.Send(sent.StartsWith("part", StringComparison.Ordinal) ? hello.AsSpan(0, 30) : hello);

        Assert.Equal(reason, await RejectionAsync(termination.TerminateAsync(socket, _ => H2Pool, CancellationToken.None)));
    }

    [Fact]
    public async Task AHelloLibsslRefusesIsAnsweredWithItsAlertAndNamedTheHellos()
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);

        Assert.Equal(RejectReason.ClientHelloInvalid, await RejectionAsync(termination.TerminateAsync(socket, _ => H2Pool, CancellationToken.None)));
        Assert.Equal(50, await AlertAsync(pair)); // decode_error, libssl's own
    }

    /// <summary>The caller picks the ALPN list from the hello's server name, read as the peek reads it (lowercased).</summary>
    [Theory]
    [InlineData("LocalHost", "h2")]
    [InlineData("other.example", "http/1.1")]
    public async Task TheOfferIsChosenFromTheHellosServerName(string serverName, string negotiated)
    {
        // The http/1.1 row's head comes after the handshake: a short head timeout would race a loaded machine.
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        var asked = new List<string?>();
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, name =>
        {
            asked.Add(name);
            return name == "localhost" ? H2Pool : HandoffTermination.RequestRoutedAlpn;
        }, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["h2", "http/1.1"], serverName);
        Assert.Equal(negotiated, client.NegotiatedApplicationProtocol.ToString());
        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());

        using TerminatedConnection terminated = await terminating.WaitAsync(Generous);
        Assert.Equal([serverName.ToLowerInvariant()], asked);
        Assert.Equal(serverName.ToLowerInvariant(), terminated.RoutingName);
    }

    [Fact]
    public async Task AnOfferRefusedIsAnInternalError()
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => null, CancellationToken.None);
        pair.Send(ClientHelloBuilder.Typical("localhost").Build());

        Assert.Equal(RejectReason.HandshakeFailed, await RejectionAsync(terminating));
        Assert.Equal(80, await AlertAsync(pair));
    }

    /// <summary>Limits:ClientHelloMaxBytes holds where libssl reads the hello too, with the peek's answer.</summary>
    [Fact]
    public async Task AHelloOverTheLimitIsRefusedAsThePeekRefusesIt()
    {
        using HandoffTermination termination = Create(maxHello: 600);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        var asked = false;
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => { asked = true; return H2Pool; }, CancellationToken.None);
        var hello = ClientHelloBuilder.Typical("localhost");
        hello.Extensions.Add((21, new byte[601 - hello.BuildMessage().Length - 4])); // padding to 601 bytes
        pair.Send(hello.Build());

        Assert.Equal(RejectReason.ClientHelloTooLarge, await RejectionAsync(terminating));
        Assert.Equal(47, await AlertAsync(pair));
        Assert.False(asked);
    }

    [Fact]
    public async Task ARequestHeadThatNeverComesTimesOut()
    {
        using HandoffTermination termination = Create(head: Short);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["http/1.1"]);

        Assert.Equal(RejectReason.RequestTimeout, await RejectionAsync(terminating));
    }

    public static TheoryData<string, string> BadHeads => new()
    {
        { "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request" },
        { "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "HTTP/1.1 400 Bad Request" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('a', 5000) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large" },
        { "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported" },
        { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 Not Implemented" },
    };

    [Theory]
    [MemberData(nameof(BadHeads))]
    public async Task ABadHeadIsAnsweredOverTlsAndRejected(string head, string statusLine)
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["http/1.1"]);
        await client.WriteAsync(Encoding.ASCII.GetBytes(head));

        Assert.Equal(RejectReason.RequestInvalid, await RejectionAsync(terminating));
        // The answer, then close_notify: the client reads to a clean end.
        string answer = await ReadToEndAsync(client);
        Assert.StartsWith(statusLine + "\r\n", answer);
        Assert.Contains("Connection: close\r\n", answer);
    }

    [Theory]
    [InlineData("close_notify", "")]
    [InlineData("fin", "")]
    [InlineData("close_notify", "GET / HTTP/1.1\r\nHo")]
    public async Task APeerThatClosesBeforeTheHeadEndsIsPeerClosed(string how, string part)
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["http/1.1"]);
        if (part.Length > 0) await client.WriteAsync(Encoding.ASCII.GetBytes(part));

        if (how == "fin") pair.Client.Shutdown(SocketShutdown.Send);
        else await client.ShutdownAsync();
        Assert.Equal(RejectReason.PeerClosed, await RejectionAsync(terminating));
    }

    [Fact]
    public async Task AnH2ConnectionIsNotReadAndCanBeExported()
    {
        // A head read would end in request_timeout: the client sends nothing after the handshake.
        using HandoffTermination termination = Create(head: Short);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => H2Pool, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["h2", "http/1.1"]);

        using TerminatedConnection terminated = await terminating.WaitAsync(Generous);
        Assert.Equal("h2", terminated.ApplicationProtocol);
        Assert.Null(terminated.Head);
        Assert.True(terminated.AlreadyRead.IsEmpty);
        using HandoffExport export = terminated.Export();
        Assert.Equal(TlsCipherSuiteInfo.Tls13, export.State.ProtocolVersion);
    }

    [Fact]
    public async Task AConnectionStillToBeRoutedIsHttp11AndKeepsEverythingItRead()
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
        await using SslStream client = await ConnectAsync(pair, ["h2", "http/1.1"]);
        byte[] sent = "POST /cart/add?x=1 HTTP/1.1\r\nHost: Shop.Example:8443\r\nContent-Length: 4\r\n\r\nbody"u8.ToArray();
        await client.WriteAsync(sent);

        using TerminatedConnection terminated = await terminating.WaitAsync(Generous);
        Assert.Equal("http/1.1", terminated.ApplicationProtocol);
        Assert.Equal("localhost", terminated.ServerName);
        Assert.Equal(("shop.example", "/cart/add"), (terminated.Head!.Host, terminated.Head.Path));
        // The body came in the head's record: it travels to the worker as plaintext already read.
        Assert.Equal(sent, terminated.AlreadyRead.ToArray());
        using HandoffExport export = terminated.Export();
        Assert.Empty(export.UnprocessedCiphertext);
    }

    [Fact]
    public async Task StoppingTheFrontIsNotARejection()
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        using var stopping = new CancellationTokenSource();
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, _ => H2Pool, stopping.Token);
        await Infrastructure.Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the handshake waits for a ClientHello");
        stopping.Cancel();
        Exception stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => terminating.WaitAsync(Generous));
        Assert.IsNotType<ConnectionRejectedException>(stopped);
    }

    private static async Task<string> RejectionAsync(Task<TerminatedConnection> terminating) =>
        (await Assert.ThrowsAsync<ConnectionRejectedException>(() => terminating.WaitAsync(Generous))).Reason;

    /// <summary>The description of the fatal alert the server sent first.</summary>
    private static async Task<byte> AlertAsync(LoopbackPair pair)
    {
        byte[] answer = new byte[7];
        for (int read = 0; read < answer.Length;)
        {
            int n = await pair.Client.ReceiveAsync(answer.AsMemory(read)).AsTask().WaitAsync(Generous);
            Assert.True(n > 0, "the server closed before its alert");
            read += n;
        }
        Assert.Equal((0x15, 2), (answer[0], answer[5])); // a fatal alert record
        return answer[6];
    }

    private static async Task<SslStream> ConnectAsync(LoopbackPair pair, List<string> alpn, string serverName = "localhost")
    {
        var client = new SslStream(new NetworkStream(pair.Client, ownsSocket: false));
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = alpn.Select(protocol => new SslApplicationProtocol(protocol)).ToList(),
        }).WaitAsync(Generous);
        return client;
    }

    private static async Task<string> ReadToEndAsync(SslStream client)
    {
        var answer = new MemoryStream();
        byte[] buffer = new byte[4096];
        int read;
        while ((read = await client.ReadAsync(buffer).AsTask().WaitAsync(Generous)) > 0)
            answer.Write(buffer, 0, read);
        return Encoding.ASCII.GetString(answer.ToArray());
    }
}
