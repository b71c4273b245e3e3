using System.Security.Cryptography;
using System.Text;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>Two record streams over a real TCP loopback connection, with mirrored states.</summary>
public class TlsRecordStreamTests
{
    public static TheoryData<ushort> Suites() => new(AllSuites);

    public static TheoryData<ushort> Tls13Suites() => new(0x1301, 0x1302, 0x1303);

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task RoundTripsBothWaysAndClosesCleanly(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite, readSequence: 3, writeSequence: 7);
        TlsSessionState clientState = Mirror(serverState);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, clientState);

        byte[] big = RandomNumberGenerator.GetBytes(50_000);
        Task write = server.WriteAsync(big).AsTask();
        Assert.Equal(big, await ReadExactlyAsync(client, big.Length));
        await write.WaitAsync(Deadline);
        Assert.Equal(7UL + 4, serverState.WriteSequence); // 3 full records and a partial one

        for (int i = 0; i < 10; i++) await client.WriteAsync(new byte[] { (byte)i, 0xAA }).AsTask().WaitAsync(Deadline);
        byte[] small = await ReadExactlyAsync(server, 20);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => new[] { (byte)i, (byte)0xAA }), small);
        Assert.Equal(3UL + 10, serverState.ReadSequence);

        await client.ShutdownAsync().WaitAsync(Deadline);
        Assert.Equal(0, await server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        Assert.Equal(0, await server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        await server.DisposeAsync(); // answers close_notify
        Assert.Empty(await ReadToEndAsync(client));
    }

    [Fact]
    public async Task MaxFragmentLengthCutsSmallerRecords()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0xC02C, maxPlaintext: 512);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        byte[] data = RandomNumberGenerator.GetBytes(2000);
        await server.WriteAsync(data).AsTask().WaitAsync(Deadline);
        Assert.Equal(4UL, serverState.WriteSequence);
        Assert.Equal(data, await ReadExactlyAsync(client, data.Length));
    }

    [Theory]
    [MemberData(nameof(Tls13Suites))]
    public async Task AnswersARequestedKeyUpdateAndFollowsTheAnswer(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite, readSequence: 9, writeSequence: 4);
        TlsSessionState clientState = Mirror(serverState);
        byte[] nextServerWrite = Next(serverState, serverState.WriteSecret);
        byte[] nextClientWrite = Next(serverState, clientState.WriteSecret);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, clientState);

        await client.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None).WaitAsync(Deadline);
        await client.WriteAsync("ping"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("ping"u8.ToArray(), await ReadExactlyAsync(server, 4));
        Assert.Equal(nextClientWrite, serverState.ReadSecret);
        Assert.Equal(1UL, serverState.ReadSequence);
        Assert.Equal(nextServerWrite, serverState.WriteSecret); // answered before "ping" was returned
        Assert.Equal(0UL, serverState.WriteSequence);

        await server.WriteAsync("pong"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("pong"u8.ToArray(), await ReadExactlyAsync(client, 4));
        Assert.Equal(nextServerWrite, clientState.ReadSecret);
        Assert.Equal(nextClientWrite, clientState.WriteSecret); // update_not_requested: the client does not answer again
    }

    [Theory]
    [MemberData(nameof(Tls13Suites))]
    public async Task UnrequestedKeyUpdateOnlyMovesTheReadSide(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite);
        TlsSessionState clientState = Mirror(serverState);
        byte[] serverWrite = serverState.WriteSecret.ToArray();
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, clientState);

        // The server starts this time: both directions of KeyUpdate go through the record streams.
        await server.SendKeyUpdateAsync(requestPeerUpdate: false, CancellationToken.None).WaitAsync(Deadline);
        await server.WriteAsync("a"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("a"u8.ToArray(), await ReadExactlyAsync(client, 1));
        Assert.Equal(serverState.WriteSecret, clientState.ReadSecret);
        Assert.NotEqual(serverWrite, serverState.WriteSecret);
        byte[] clientWrite = clientState.WriteSecret.ToArray();
        await client.WriteAsync("b"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("b"u8.ToArray(), await ReadExactlyAsync(server, 1));
        Assert.Equal(clientWrite, clientState.WriteSecret);
    }

    [Fact]
    public async Task PendingKeyUpdateFromTheFrontIsSentFirst()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1302, writeSequence: 2);
        TlsSessionState clientState = Mirror(serverState);
        serverState.KeyUpdatePending = true;
        byte[] nextServerWrite = Next(serverState, serverState.WriteSecret);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, clientState);

        await server.WriteAsync("x"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("x"u8.ToArray(), await ReadExactlyAsync(client, 1));
        Assert.Equal(nextServerWrite, clientState.ReadSecret);
        Assert.False(serverState.KeyUpdatePending);
        Assert.Equal(1UL, serverState.WriteSequence);
    }

    [Fact]
    public async Task Tls13RekeysBeforeTheAeadLimit()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1301, writeSequence: RecordProtocol.Tls13KeyUpdateThreshold - 1);
        TlsSessionState clientState = Mirror(serverState);
        byte[] nextServerWrite = Next(serverState, serverState.WriteSecret);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, clientState);

        await server.WriteAsync("one"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal(RecordProtocol.Tls13KeyUpdateThreshold, serverState.WriteSequence);
        await server.WriteAsync("two"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal(1UL, serverState.WriteSequence);
        Assert.Equal(nextServerWrite, serverState.WriteSecret);
        Assert.Equal("onetwo"u8.ToArray(), await ReadExactlyAsync(client, 6));
        Assert.Equal(nextServerWrite, clientState.ReadSecret);
    }

    [Theory]
    [InlineData(0xC02B, true)]
    [InlineData(0xCCA8, false)]
    public async Task Tls12RefusesToWritePastTheGcmLimit(ushort suite, bool refused)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite, writeSequence: RecordProtocol.Tls12GcmRecordLimit);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        Task write = server.WriteAsync("z"u8.ToArray()).AsTask();
        if (refused)
        {
            await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(Deadline));
        }
        else
        {
            await write.WaitAsync(Deadline);
            Assert.Equal("z"u8.ToArray(), await ReadExactlyAsync(client, 1));
        }
    }

    [Theory]
    [InlineData(0x1303)]
    [InlineData(0xC030)]
    public async Task RecordsSplitIntoSingleBytesAreReassembled(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite);
        var trickle = new OneByteReadStream(serverNet);
        await using var server = new TlsRecordStream(trickle, serverState);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        byte[] data = RandomNumberGenerator.GetBytes(20_000);
        await client.WriteAsync(data).AsTask().WaitAsync(Deadline);
        if (serverState.ProtocolVersion == 0x0304) await client.SendKeyUpdateAsync(true, CancellationToken.None).WaitAsync(Deadline);
        await client.WriteAsync("tail"u8.ToArray()).AsTask().WaitAsync(Deadline);
        byte[] received = await ReadExactlyAsync(server, data.Length + 4);
        Assert.Equal([.. data, .. "tail"u8.ToArray()], received);
        Assert.True(trickle.Reads > data.Length);
    }

    [Fact]
    public async Task InitialPlaintextThenInitialCiphertextThenTheSocket()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1301);
        // Two records as the client sent them before the handoff; the front read all of the first and part of the second.
        byte[] early = await SealWithStreamAsync(Mirror(serverState), "abc"u8.ToArray(), "defg"u8.ToArray());
        int firstRecord = 5 + 3 + 1 + 16;
        byte[] initialCiphertext = early[..(firstRecord + 10)];
        byte[] head = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        await using var server = new TlsRecordStream(serverNet, serverState, head, initialCiphertext);
        await clientNet.WriteAsync(early.AsMemory(firstRecord + 10)).AsTask().WaitAsync(Deadline);
        TlsSessionState clientState = Mirror(serverState);
        clientState.WriteSequence = 2;
        await using var client = new TlsRecordStream(clientNet, clientState);
        await client.WriteAsync("hij"u8.ToArray()).AsTask().WaitAsync(Deadline);

        byte[] buffer = new byte[1000];
        Assert.Equal(head.Length, await server.ReadAsync(buffer).AsTask().WaitAsync(Deadline));
        Assert.Equal(head, buffer[..head.Length]);
        Assert.Equal("abcdefghij"u8.ToArray(), await ReadExactlyAsync(server, 10));
        Assert.Equal(3UL, serverState.ReadSequence);
    }

    [Fact]
    public async Task DisposeWipesTheStateItOwns()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        using var _ = clientNet;
        TlsSessionState serverState = NewServerState(0x1302);
        var server = new TlsRecordStream(serverNet, serverState);
        await server.WriteAsync("bye"u8.ToArray()).AsTask().WaitAsync(Deadline);
        byte[][] secrets = [serverState.ReadKey, serverState.WriteKey, serverState.ReadIv, serverState.WriteIv, serverState.ReadSecret, serverState.WriteSecret];
        Assert.All(secrets, s => Assert.Contains(s, b => b != 0));
        server.Dispose();
        Assert.All(secrets, s => Assert.All(s, b => Assert.Equal(0, b)));
        Assert.Throws<ObjectDisposedException>(() => server.Write([1]));
    }

    [Fact]
    public async Task ZeroByteReadWaitsForPlaintext()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1301);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        ValueTask<int> wait = server.ReadAsync(Memory<byte>.Empty);
        Assert.False(wait.IsCompleted); // nothing arrived: it must not look like end of stream
        await client.WriteAsync("data"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal(0, await wait.AsTask().WaitAsync(Deadline));
        Assert.Equal("data"u8.ToArray(), await ReadExactlyAsync(server, 4));
    }

    [Theory]
    [InlineData(0x1302)]
    [InlineData(0xCCA9)]
    public async Task ConcurrentReaderAndWriterWithKeyUpdatesInFlight(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite);
        await using var server = new TlsRecordStream(serverNet, serverState);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        byte[] up = RandomNumberGenerator.GetBytes(1 << 20), down = RandomNumberGenerator.GetBytes(1 << 20);
        bool tls13 = serverState.ProtocolVersion == 0x0304;

        async Task WriteInPiecesAsync(TlsRecordStream stream, byte[] data, bool keyUpdates)
        {
            for (int offset = 0, i = 0; offset < data.Length; offset += 7000, i++)
            {
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(7000, data.Length - offset)));
                if (keyUpdates && i % 20 == 0) await stream.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None);
            }
        }

        Task<byte[]> serverReads = ReadExactlyAsync(server, up.Length);
        Task<byte[]> clientReads = ReadExactlyAsync(client, down.Length);
        await Task.WhenAll(WriteInPiecesAsync(client, up, tls13), WriteInPiecesAsync(server, down, false)).WaitAsync(Deadline);
        Assert.Equal(up, await serverReads);
        Assert.Equal(down, await clientReads);
    }

    [Fact]
    public async Task DisposeDuringAPendingReadFailsThatRead()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        using var _ = clientNet;
        TlsSessionState serverState = NewServerState(0x1301);
        var server = new TlsRecordStream(serverNet, serverState);
        Task<int> read = server.ReadAsync(new byte[100]).AsTask();
        Assert.False(read.IsCompleted);
        await server.DisposeAsync();
        Exception e = await Assert.ThrowsAnyAsync<Exception>(() => read.WaitAsync(Deadline));
        Assert.True(e is ObjectDisposedException or IOException, e.ToString());
        Assert.All(serverState.ReadKey, b => Assert.Equal(0, b));
    }

    /// <summary>The records a client stream writes for the given chunks (one record each), without close_notify.</summary>
    internal static async Task<byte[]> SealWithStreamAsync(TlsSessionState clientState, params byte[][] chunks)
    {
        var memory = new MemoryStream();
        var client = new TlsRecordStream(memory, clientState, leaveInnerStreamOpen: true);
        foreach (byte[] chunk in chunks) await client.WriteAsync(chunk);
        byte[] records = memory.ToArray();
        await client.DisposeAsync();
        return records;
    }

    private static byte[] Next(TlsSessionState state, byte[] secret)
    {
        byte[] next = secret.ToArray();
        TlsKeySchedule.UpdateTrafficSecret(state.Suite, next);
        return next;
    }
}
