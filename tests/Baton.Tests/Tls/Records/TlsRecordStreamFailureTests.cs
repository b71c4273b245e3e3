using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>Illegal or hostile input from a raw client: the server stream must send the right alert and fail.</summary>
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

    public static TheoryData<byte[], object> BadTls13Plaintexts() => new()
    {
        { new byte[40], TlsAlertDescription.UnexpectedMessage },                     // all zeros: no content type
        { Inner([4, 0, 0, 0], 22), TlsAlertDescription.UnexpectedMessage },          // NewSessionTicket from a client
        { Inner([20, 0, 0, 32], 22), TlsAlertDescription.UnexpectedMessage },        // Finished (post-handshake auth is off)
        { Inner([24, 0, 0, 2, 0, 0], 22), TlsAlertDescription.DecodeError },         // KeyUpdate with a 2-byte body
        { Inner([24, 0, 0, 1, 5], 22), TlsAlertDescription.IllegalParameter },       // request_update = 5
        { Inner([24, 0, 0, 1, 0, 24, 0, 0, 1, 0], 22), TlsAlertDescription.UnexpectedMessage }, // data after a KeyUpdate
        { Inner([], 22), TlsAlertDescription.UnexpectedMessage },                    // empty handshake record
        { Inner([1], 20), TlsAlertDescription.UnexpectedMessage },                   // change_cipher_spec inside
        { Inner([1, 2, 3], 25), TlsAlertDescription.UnexpectedMessage },             // unknown content type
        { Inner([1], 21), TlsAlertDescription.DecodeError },                         // 1-byte alert
    };

    [Theory]
    [MemberData(nameof(BadTls13Plaintexts))]
    public async Task BadTls13PlaintextGetsTheRightAlert(byte[] inner, object expectedAlert)
    {
        var expected = (TlsAlertDescription)expectedAlert;
        await using var t = await StartAsync(0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, inner));
        await ExpectFailureAsync(t.Server, expected);
        await t.Peer.ExpectAlertAsync(Fatal, expected);
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

    [Fact]
    public async Task Tls12RenegotiationGetsANoRenegotiationWarningAndIsIgnored()
    {
        await using var t = await StartAsync(0xC02F);
        await t.Peer.SendAsync(TlsContentType.Handshake, 1, 0, 0, 2, 3, 3); // ClientHello (truncated body, unparsed)
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "ok"u8.ToArray());
        Assert.Equal("ok"u8.ToArray(), await ReadExactlyAsync(t.Server, 2));
        await t.Peer.ExpectAlertAsync(Warning, TlsAlertDescription.NoRenegotiation);
        await t.Server.WriteAsync("still here"u8.ToArray()).AsTask().WaitAsync(Deadline);
        var (type, content) = await t.Peer.ReceiveAsync();
        Assert.Equal(TlsContentType.ApplicationData, type);
        Assert.Equal("still here"u8.ToArray(), content);
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
    [InlineData(0x1302, Warning)] // TLS 1.3: any alert but close_notify/user_canceled is fatal
    [InlineData(0xC030, Fatal)]
    public async Task FatalAlertFromThePeerFailsReads(ushort suite, byte level)
    {
        await using var t = await StartAsync(suite);
        await t.Peer.SendAsync(TlsContentType.Alert, level, 40); // handshake_failure
        var e = await Assert.ThrowsAsync<TlsAlertException>(() => t.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        Assert.True(e.SentByPeer);
        Assert.Equal(40, (int)e.Description);
        await t.Server.DisposeAsync();
        await t.Peer.ExpectEndOfStreamAsync(); // nothing sent back, not even close_notify
    }

    [Theory]
    [InlineData(0x1303)]
    [InlineData(0xCCA9)]
    public async Task CloseNotifyEndsReadsAndIsAnsweredOnDispose(ushort suite)
    {
        await using var t = await StartAsync(suite);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "last"u8.ToArray());
        await t.Peer.SendAsync(TlsContentType.Alert, Warning, 0);
        Assert.Equal("last"u8.ToArray(), await ReadToEndAsync(t.Server));
        await t.Server.DisposeAsync();
        await t.Peer.ExpectAlertAsync(Warning, TlsAlertDescription.CloseNotify);
        await t.Peer.ExpectEndOfStreamAsync();
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
