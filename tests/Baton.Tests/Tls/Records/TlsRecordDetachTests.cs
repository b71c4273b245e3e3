using System.Security.Cryptography;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// Handback's record-layer half: a session detached from one stream continues in another over the same TCP connection,
/// with the peer (a record stream of its own, so every record is checked by real AEAD) noticing nothing.
/// </summary>
public sealed class TlsRecordDetachTests
{
    public static TheoryData<ushort> Suites() => new(AllSuites);

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task ADetachedSessionContinuesInANewStreamWithNothingLost(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(suite, readSequence: 5, writeSequence: 2);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        var first = new TlsRecordStream(serverNet, serverState, leaveInnerStreamOpen: true);

        if (serverState.ProtocolVersion == TlsCipherSuiteInfo.Tls13)
            await client.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None).WaitAsync(Deadline);
        byte[] upload = RandomNumberGenerator.GetBytes(60_000);
        Task sending = client.WriteAsync(upload).AsTask();
        // One byte taken: the rest of that record stays opened in the stream, later records wait as ciphertext.
        Assert.Equal(upload[..1], await ReadExactlyAsync(first, 1));
        await first.WriteAsync("before"u8.ToArray()).AsTask().WaitAsync(Deadline);

        DetachedSession detached = first.Detach();
        Assert.True(first.Detached);
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.ReadAsync(new byte[1]).AsTask());
        await Assert.ThrowsAsync<IOException>(() => first.WriteAsync(new byte[1]).AsTask());
        await first.DisposeAsync(); // no close_notify: the client would read end-of-stream below

        await using var second = new TlsRecordStream(serverNet, detached.State, detached.UnreadPlaintext, detached.UnreadCiphertext);
        Assert.Equal(upload[1..], await ReadExactlyAsync(second, upload.Length - 1));
        await sending.WaitAsync(Deadline);
        await second.WriteAsync("after"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("beforeafter"u8.ToArray(), await ReadExactlyAsync(client, 11));
    }

    [Fact]
    public async Task AnOwedKeyUpdateTravelsWithTheDetachedSession()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1301);
        serverState.KeyUpdatePending = true;
        TlsSessionState clientState = Mirror(serverState);
        byte[] clientReadSecret = clientState.ReadSecret.ToArray();
        await using var client = new TlsRecordStream(clientNet, clientState);
        var first = new TlsRecordStream(serverNet, serverState, leaveInnerStreamOpen: true);

        DetachedSession detached = first.Detach();
        Assert.True(detached.State.KeyUpdatePending);
        Assert.Empty(detached.UnreadCiphertext);
        await first.DisposeAsync();

        await using var second = new TlsRecordStream(serverNet, detached.State);
        await second.WriteAsync("x"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("x"u8.ToArray(), await ReadExactlyAsync(client, 1));
        Assert.NotEqual(clientReadSecret, clientState.ReadSecret); // the owed KeyUpdate went first
    }

    [Fact]
    public async Task DetachIsRefusedWhileAReadIsInProgressAndTheStreamGoesOn()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0x1302);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        await using var server = new TlsRecordStream(serverNet, serverState);

        var buffer = new byte[4];
        Task<int> reading = server.ReadAsync(buffer).AsTask();
        Assert.Throws<InvalidOperationException>(() => server.Detach());
        await client.WriteAsync("data"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal(4, await reading.WaitAsync(Deadline));
        Assert.False(server.Detached);
        await server.WriteAsync("ok"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("ok"u8.ToArray(), await ReadExactlyAsync(client, 2));
    }

    [Fact]
    public async Task DetachIsRefusedOnceThePeerClosedOrTwice()
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState serverState = NewServerState(0xC02F);
        await using var client = new TlsRecordStream(clientNet, Mirror(serverState));
        await using var server = new TlsRecordStream(serverNet, serverState);
        await client.ShutdownAsync().WaitAsync(Deadline);
        Assert.Equal(0, await server.ReadAsync(new byte[1]).AsTask().WaitAsync(Deadline));
        Assert.Contains("closed", Assert.Throws<InvalidOperationException>(() => server.Detach()).Message);

        var (serverNet2, clientNet2) = await ConnectAsync();
        await using var client2 = new TlsRecordStream(clientNet2, Mirror(serverState = NewServerState(0xC02F)));
        await using var server2 = new TlsRecordStream(serverNet2, serverState);
        using DetachedSession once = server2.Detach();
        Assert.Throws<InvalidOperationException>(() => server2.Detach());
    }
}
