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

    private HandoffTermination Create(TimeSpan? handshake = null, TimeSpan? head = null) => new(
        new BatonOptions
        {
            Limits = new LimitOptions { HandshakeTimeout = handshake ?? Generous, RequestHeadTimeout = head ?? Generous, MaxRequestHeadBytes = 4096 },
        },
        _certificates, [H2Pool], _slots);

    [Fact]
    public async Task UnderConnectionPressureAStalledHandshakeIsCutAtThePressureTimeout()
    {
        for (int i = 0; i < 80; i++)
            await _slots.AcquireAsync(CancellationToken.None);
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send(ClientHelloBuilder.Typical().Build().AsSpan(0, 30));

        // The configured handshake timeout is the generous one; 80 of 100 slots held cut this wait to the pressure timeout.
        ConnectionRejectedException rejection = await Assert.ThrowsAsync<ConnectionRejectedException>(
            () => termination.TerminateAsync(socket, H2Pool, CancellationToken.None).WaitAsync(Generous / 3));
        Assert.Equal(RejectReason.HandshakeTimeout, rejection.Reason);
        Assert.Contains($"within {Short}", rejection.Message);
    }

    [Fact]
    public async Task AHandshakeThatStallsTimesOut()
    {
        using HandoffTermination termination = Create(handshake: Short);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send(ClientHelloBuilder.Typical().Build().AsSpan(0, 30));

        Assert.Equal(RejectReason.HandshakeTimeout, await RejectionAsync(termination.TerminateAsync(socket, H2Pool, CancellationToken.None)));
    }

    [Fact]
    public async Task AHandshakeThatFailsIsAnsweredWithAnAlert()
    {
        using HandoffTermination termination = Create();
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        pair.Send([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);

        Assert.Equal(RejectReason.HandshakeFailed, await RejectionAsync(termination.TerminateAsync(socket, H2Pool, CancellationToken.None)));
        byte[] answer = new byte[64];
        Assert.True(await pair.Client.ReceiveAsync(answer).WaitAsync(Generous) > 0);
        Assert.Equal(0x15, answer[0]); // an alert record
    }

    [Fact]
    public async Task ARequestHeadThatNeverComesTimesOut()
    {
        using HandoffTermination termination = Create(head: Short);
        using LoopbackPair pair = await LoopbackPair.ConnectAsync();
        using var socket = new PolledSocket(pair.Server, _poller);
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
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
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
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
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
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
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, H2Pool, CancellationToken.None);
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
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, HandoffTermination.RequestRoutedAlpn, CancellationToken.None);
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
        Task<TerminatedConnection> terminating = termination.TerminateAsync(socket, H2Pool, stopping.Token);
        await Infrastructure.Wait.UntilAsync(() => EpollView.IsArmed(pair.Server.SafeHandle, Interop.Libc.EPOLLIN), "the handshake waits for a ClientHello");
        stopping.Cancel();
        Exception stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => terminating.WaitAsync(Generous));
        Assert.IsNotType<ConnectionRejectedException>(stopped);
    }

    private static async Task<string> RejectionAsync(Task<TerminatedConnection> terminating) =>
        (await Assert.ThrowsAsync<ConnectionRejectedException>(() => terminating.WaitAsync(Generous))).Reason;

    private static async Task<SslStream> ConnectAsync(LoopbackPair pair, List<string> alpn)
    {
        var client = new SslStream(new NetworkStream(pair.Client, ownsSocket: false));
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
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
