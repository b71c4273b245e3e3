using System.Net.Sockets;
using System.Security.Cryptography;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// The kernel's record layer against Baton's user-space one: a loopback TCP pair, the server side handed to
/// <see cref="KernelTls.TryEnable"/>, the client side a <see cref="TlsRecordStream"/> with the mirrored state.
/// These run only where the kernel offers TLS; elsewhere they are skipped with the reason.
/// </summary>
public class KernelTlsStreamTests
{
    public static TheoryData<ushort> Suites() => new(AllSuites);

    public static TheoryData<ushort> Tls13Suites() => new(0x1301, 0x1302, 0x1303);

    [SkippableTheory]
    [MemberData(nameof(Suites))]
    public async Task CarriesDataBothWaysAndClosesCleanly(ushort suite)
    {
        byte[] head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();
        await using Pair pair = await Pair.CreateAsync(NewServerState(suite, readSequence: 3, writeSequence: 7), head);

        Assert.Equal(head, await ReadExactlyAsync(pair.Server, head.Length)); // the front's plaintext comes first
        byte[] big = RandomNumberGenerator.GetBytes(50_000);
        Task write = pair.Server.WriteAsync(big).AsTask();
        Assert.Equal(big, await ReadExactlyAsync(pair.Client, big.Length));
        await write.WaitAsync(Deadline);

        for (int i = 0; i < 10; i++) await pair.Client.WriteAsync(new byte[] { (byte)i, 0xAA }).AsTask().WaitAsync(Deadline);
        Assert.Equal(0, await pair.Server.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Deadline)); // data is ready
        byte[] small = await ReadExactlyAsync(pair.Server, 20);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => new[] { (byte)i, (byte)0xAA }), small);

        await pair.Client.ShutdownAsync().WaitAsync(Deadline);
        Assert.Equal(0, await pair.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        await pair.Server.DisposeAsync(); // sends close_notify
        Assert.Empty(await ReadToEndAsync(pair.Client));
    }

    [SkippableTheory]
    [MemberData(nameof(Tls13Suites))]
    public async Task FollowsTheClientsKeyUpdateAndAnswersTheRequest(ushort suite)
    {
        await using Pair pair = await Pair.CreateAsync(NewServerState(suite));
        byte[] clientReadSecret = pair.ClientState.ReadSecret.ToArray();

        await pair.Client.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None).WaitAsync(Deadline);
        await pair.Client.WriteAsync("after update"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("after update"u8.ToArray(), await ReadExactlyAsync(pair.Server, 12)); // new TLS_RX key

        await pair.Server.WriteAsync("answer"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("answer"u8.ToArray(), await ReadExactlyAsync(pair.Client, 6)); // KeyUpdate sent, new TLS_TX key
        TlsKeySchedule.UpdateTrafficSecret(pair.ClientState.Suite, clientReadSecret);
        Assert.Equal(clientReadSecret, pair.ClientState.ReadSecret);
    }

    [SkippableTheory]
    [MemberData(nameof(Tls13Suites))]
    public async Task ServerInitiatedKeyUpdateIsAnsweredAndFollowed(ushort suite)
    {
        await using Pair pair = await Pair.CreateAsync(NewServerState(suite));
        await pair.Server.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None).WaitAsync(Deadline);
        await pair.Server.WriteAsync("ping"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("ping"u8.ToArray(), await ReadExactlyAsync(pair.Client, 4));
        await pair.Client.WriteAsync("pong"u8.ToArray()).AsTask().WaitAsync(Deadline); // after the client's answer
        Assert.Equal("pong"u8.ToArray(), await ReadExactlyAsync(pair.Server, 4));
    }

    [SkippableFact]
    public async Task SendsTheKeyUpdateTheFrontOwedBeforeTheFirstData()
    {
        TlsSessionState serverState = TlsSessionState.FromTls13(0x1301, RandomNumberGenerator.GetBytes(32),
            RandomNumberGenerator.GetBytes(32), readSequence: 0, writeSequence: 2, keyUpdatePending: true);
        byte[] serverWriteSecret = serverState.WriteSecret.ToArray();
        await using Pair pair = await Pair.CreateAsync(serverState);
        await pair.Server.WriteAsync("first"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("first"u8.ToArray(), await ReadExactlyAsync(pair.Client, 5));
        TlsKeySchedule.UpdateTrafficSecret(pair.ClientState.Suite, serverWriteSecret);
        Assert.Equal(serverWriteSecret, pair.ClientState.ReadSecret);
    }

    [SkippableFact]
    public async Task AFatalAlertFromThePeerFailsReads()
    {
        await using Pair pair = await Pair.CreateAsync(NewServerState(0xC02F));
        await pair.Client.SendAlertAsync(TlsAlertLevel.Fatal, TlsAlertDescription.InternalError, CancellationToken.None).WaitAsync(Deadline);
        var failure = await Assert.ThrowsAsync<TlsAlertException>(() => pair.Server.ReadAsync(new byte[16]).AsTask().WaitAsync(Deadline));
        Assert.True(failure.SentByPeer);
        Assert.Equal(TlsAlertDescription.InternalError, failure.Description);
    }

    [SkippableTheory]
    [InlineData(0x1302)]
    [InlineData(0xC030)]
    public async Task ATamperedRecordIsAnsweredWithBadRecordMac(ushort suite)
    {
        await using Pair pair = await Pair.CreateAsync(NewServerState(suite));
        byte[] forged = new byte[5 + 40];
        RandomNumberGenerator.Fill(forged);
        forged[0] = 23;
        forged[1] = 3;
        forged[2] = 3;
        forged[3] = 0;
        forged[4] = 40;
        await pair.ClientSocket.SendAsync(forged).WaitAsync(Deadline);
        var failure = await Assert.ThrowsAsync<TlsAlertException>(() => pair.Server.ReadAsync(new byte[16]).AsTask().WaitAsync(Deadline));
        Assert.False(failure.SentByPeer);
        Assert.Equal(TlsAlertDescription.BadRecordMac, failure.Description);
    }

    /// <summary>A kernel TLS server stream and a user-space client stream over one loopback connection.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private Pair(TlsRecordStream server, TlsRecordStream client, TlsSessionState clientState, Socket clientSocket)
        {
            Server = server;
            Client = client;
            ClientState = clientState;
            ClientSocket = clientSocket;
        }

        public TlsRecordStream Server { get; }
        public TlsRecordStream Client { get; }
        public TlsSessionState ClientState { get; }
        public Socket ClientSocket { get; }

        public static async Task<Pair> CreateAsync(TlsSessionState serverState, byte[]? initialPlaintext = null)
        {
            Skip.IfNot(KernelTls.IsAvailable, KernelTls.UnavailableReason);
            string? tooOld = KernelTls.CheckKernel(serverState, KernelTls.KernelVersion);
            Skip.If(tooOld is not null, tooOld);
            TlsSessionState clientState = Mirror(serverState, keyUpdatePending: false);
            var (server, client) = await ConnectSocketsAsync();
            Stream? stream = KernelTls.TryEnable(server, serverState, initialPlaintext, default, out string? reason);
            Assert.True(stream is not null, reason);
            return new Pair((TlsRecordStream)stream, new TlsRecordStream(new NetworkStream(client, ownsSocket: true), clientState), clientState, client);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Client.DisposeAsync();
        }
    }
}
