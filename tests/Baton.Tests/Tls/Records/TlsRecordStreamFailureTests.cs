using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// Illegal or hostile input from a raw client to the user-space record layer: what only that back-end sees (ciphertext
/// the kernel would judge itself) or checks in more detail. The cases both back-ends share are in
/// <see cref="RecordLayerProtocolTests"/>.
/// </summary>
public class TlsRecordStreamFailureTests
{
    private const byte Fatal = 2;
    private const byte Warning = 1;

    [Theory]
    [InlineData(0x1301, 16384 + 256 + 1)]
    [InlineData(0xC02B, 16384 + 2048 + 1)]
    public async Task OversizedRecordGetsRecordOverflow(ushort suite, int length)
    {
        await using var t = await StartAsync(suite);
        await t.Peer.SendRawAsync([23, 3, 3, (byte)(length >> 8), (byte)length]);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.RecordOverflow);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.RecordOverflow);
    }

    [Fact]
    public async Task OversizedTls13PlaintextGetsRecordOverflow()
    {
        await using var t = await StartAsync(0x1301);
        byte[] record = SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, Inner(new byte[16385], 23));
        await t.Peer.SendRawAsync(record);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.RecordOverflow);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.RecordOverflow);
    }

    [Theory]
    [InlineData(0x1302)]
    [InlineData(0xC030)]
    [InlineData(0xCCA9)]
    public async Task TamperedRecordGetsBadRecordMacAndTheConnectionIsDead(ushort suite)
    {
        await using var t = await StartAsync(suite);
        byte[] record = new byte[100 + 40];
        using (var writer = new TlsRecordProtector(t.Peer.Suite, true, t.Peer.WriteKey, t.Peer.WriteIv, 0))
        {
            record = record[..writer.Seal(TlsContentType.ApplicationData, new byte[100], record)];
        }
        record[60] ^= 1;
        await t.Peer.SendRawAsync(record);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.BadRecordMac);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.BadRecordMac);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.BadRecordMac); // and stays failed
        await Assert.ThrowsAsync<IOException>(() => t.Server.WriteAsync(new byte[1]).AsTask());
        await t.Server.DisposeAsync(); // no close_notify after a fatal alert
        await t.Peer.ExpectEndOfStreamAsync();
    }

    [Fact]
    public async Task Tls13PaddingIsStripped()
    {
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, Inner("hello"u8, 23, padding: 300)));
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 1, Inner([], 23, padding: 5))); // empty, padded
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 2, Inner("!"u8, 23)));
        Assert.Equal("hello!"u8.ToArray(), await ReadExactlyAsync(t.Server, 6));
    }

    /// <summary>User space only (the shared cases in <see cref="RecordLayerProtocolTests"/> cover the other broken
    /// plaintexts on both back-ends): a plaintext of zeros has no content type.</summary>
    [Fact]
    public async Task Tls13PlaintextWithoutAContentTypeGetsUnexpectedMessage()
    {
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, new byte[40]));
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact]
    public async Task Tls13ChangeCipherSpecRecordGetsUnexpectedMessage()
    {
        await using var t = await StartAsync(0x1303);
        await t.Peer.SendRawAsync([20, 3, 3, 0, 1, 1]);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact]
    public async Task KeyUpdateSplitAcrossRecordsIsReassembled()
    {
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, Inner([24, 0], 22)));
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 1, Inner([0], 22)));
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 2, Inner([1, 1], 22)));
        byte[] next = t.Peer.WriteSecret.ToArray();
        TlsKeySchedule.UpdateTrafficSecret(t.Peer.Suite, next);
        byte[] key = new byte[16], iv = new byte[12];
        TlsKeySchedule.DeriveTls13Keys(t.Peer.Suite, next, key, iv);
        await t.Peer.SendRawAsync(SealTls13Aes128(key, iv, 0, Inner("after"u8, 23)));

        Assert.Equal("after"u8.ToArray(), await ReadExactlyAsync(t.Server, 5));
        Assert.Equal(next, t.ServerState.ReadSecret);
        var (type, content) = await t.Peer.ReceiveAsync(); // the answer to update_requested, under the old write keys
        Assert.Equal(TlsContentType.Handshake, type);
        Assert.Equal(new byte[] { 24, 0, 0, 1, 0 }, content);
    }

    [Fact]
    public async Task ApplicationDataInsideASplitHandshakeMessageGetsUnexpectedMessage()
    {
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, Inner([24, 0], 22)));
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 1, Inner("x"u8, 23)));
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [Theory]
    [InlineData(0xC02B, (byte)TlsContentType.ChangeCipherSpec)]
    [InlineData(0xCCA8, 99)]
    public async Task Tls12UnexpectedContentTypeGetsUnexpectedMessage(ushort suite, byte type)
    {
        await using var t = await StartAsync(suite);
        await t.Peer.SendAsync((TlsContentType)type, 1);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [Fact]
    public async Task Tls12OtherHandshakeMessageGetsUnexpectedMessage()
    {
        await using var t = await StartAsync(0xC02B);
        await t.Peer.SendAsync(TlsContentType.Handshake, 20, 0, 0, 0); // Finished
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    /// <summary>User space only: kernel TLS consumes empty data records itself.</summary>
    [Theory]
    [InlineData(0x1301)]
    [InlineData(0xC02C)]
    public async Task MoreThan32EmptyRecordsInARowGetUnexpectedMessage(ushort suite)
    {
        await using var t = await StartAsync(suite);
        for (int i = 0; i < RecordProtocol.MaxRecordsWithoutData; i++) await t.Peer.SendAsync(TlsContentType.ApplicationData);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "a"u8.ToArray());
        Assert.Equal("a"u8.ToArray(), await ReadExactlyAsync(t.Server, 1));
        for (int i = 0; i <= RecordProtocol.MaxRecordsWithoutData; i++) await t.Peer.SendAsync(TlsContentType.ApplicationData);
        await ExpectFailureAsync(t.Server, TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [Theory]
    [InlineData(0x1301, (byte)TlsAlertDescription.UserCanceled)]
    [InlineData(0xC02B, (byte)TlsAlertDescription.NoRenegotiation)]
    public async Task WarningAlertsAreIgnored(ushort suite, byte description)
    {
        await using var t = await StartAsync(suite);
        await t.Peer.SendAsync(TlsContentType.Alert, Warning, description);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "go"u8.ToArray());
        Assert.Equal("go"u8.ToArray(), await ReadExactlyAsync(t.Server, 2));
    }

    [Theory]
    [InlineData(0x1301, new byte[] { 23, 3, 3, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, TlsAlertDescription.BadRecordMac)] // tag only
    [InlineData(0xC02B, new byte[] { 23, 3, 3, 0, 3, 1, 2, 3 }, TlsAlertDescription.BadRecordMac)]                                    // shorter than nonce + tag
    [InlineData(0xC02B, new byte[] { 23, 3, 1, 0, 0 }, TlsAlertDescription.ProtocolVersion)]                                          // TLS 1.0 record version
    public async Task MalformedRecordsAreRefused(ushort suite, byte[] raw, object expectedAlert)
    {
        var expected = (TlsAlertDescription)expectedAlert;
        await using var t = await StartAsync(suite);
        await t.Peer.SendRawAsync(raw);
        await ExpectFailureAsync(t.Server, expected);
        await t.Peer.ExpectAlertAsync(Fatal, expected);
    }

    [Fact]
    public async Task EndOfStreamInsideARecordIsAnError()
    {
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync([23, 3, 3, 0, 40, 1, 2, 3]);
        t.Peer.Net.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var e = await Assert.ThrowsAsync<IOException>(() => t.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        Assert.IsNotType<TlsAlertException>(e);
    }

    private static async Task ExpectFailureAsync(TlsRecordStream server, TlsAlertDescription expected)
    {
        var e = await Assert.ThrowsAsync<TlsAlertException>(() => server.ReadAsync(new byte[100]).AsTask().WaitAsync(Deadline));
        Assert.False(e.SentByPeer);
        Assert.Equal(expected, e.Description);
    }

    private static async Task<Session> StartAsync(ushort suite)
    {
        var (serverNet, clientNet) = await ConnectAsync();
        TlsSessionState state = NewServerState(suite);
        var peer = new RawTlsPeer(clientNet, state);
        return new Session(new TlsRecordStream(serverNet, state), state, peer);
    }

    private sealed record Session(TlsRecordStream Server, TlsSessionState ServerState, RawTlsPeer Peer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Peer.DisposeAsync();
        }
    }
}
