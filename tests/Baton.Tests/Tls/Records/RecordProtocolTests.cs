using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>The record-protocol core on its own: decrypted records in, decisions out; no sockets.</summary>
public class RecordProtocolTests
{
    private const byte Warning = 1;
    private const byte Fatal = 2;

    [Fact]
    public void DataIsDataAndAnEmptyRecordIsNothing()
    {
        var protocol = new RecordProtocol(NewServerState(0x1301));
        Assert.Equal(RecordAction.Data, protocol.OnRecord(TlsContentType.ApplicationData, "x"u8));
        Assert.Equal(RecordAction.Nothing, protocol.OnRecord(TlsContentType.ApplicationData, []));
    }

    [Theory]
    [InlineData(0x1301, Warning, 90, RecordAction.Nothing)]          // user_canceled
    [InlineData(0x1301, Warning, 40, RecordAction.PeerFatalAlert)]   // TLS 1.3: fatal whatever the level says
    [InlineData(0xC02F, Warning, 100, RecordAction.Nothing)]
    [InlineData(0xC02F, Fatal, 40, RecordAction.PeerFatalAlert)]
    [InlineData(0xCCA9, Warning, 0, RecordAction.PeerClosed)]
    [InlineData(0x1303, Fatal, 0, RecordAction.PeerClosed)]          // close_notify, whatever the level
    public void AlertsAreReadByLevelAndVersion(ushort suite, byte level, byte description, object expectedAction)
    {
        var expected = (RecordAction)expectedAction;
        var protocol = new RecordProtocol(NewServerState(suite));
        Assert.Equal(expected, protocol.OnRecord(TlsContentType.Alert, [level, description]));
        Assert.Equal(expected == RecordAction.PeerClosed, protocol.PeerClosed);
        Assert.Equal(expected == RecordAction.PeerFatalAlert, protocol.WriteClosed);
        if (expected != RecordAction.PeerFatalAlert) return;
        Assert.True(protocol.ReadFailure!.SentByPeer);
        Assert.Equal(description, (byte)protocol.ReadFailure.Description);
    }

    public static TheoryData<ushort, byte, byte[], object> Broken() => new()
    {
        { 0x1301, 21, [1], TlsAlertDescription.DecodeError },                               // 1-byte alert
        { 0x1301, 21, [1, 0, 0], TlsAlertDescription.DecodeError },                         // 3-byte alert
        { 0x1301, 22, [], TlsAlertDescription.UnexpectedMessage },                          // empty handshake record
        { 0x1301, 22, [4, 0, 0, 0], TlsAlertDescription.UnexpectedMessage },                // NewSessionTicket
        { 0x1301, 22, [24, 0, 0, 2, 0, 0], TlsAlertDescription.DecodeError },               // KeyUpdate of 2 bytes
        { 0x1301, 22, [24, 0, 0, 1, 2], TlsAlertDescription.IllegalParameter },             // request_update 2
        { 0x1301, 22, [24, 0, 0, 1, 0, 0], TlsAlertDescription.UnexpectedMessage },         // KeyUpdate not last
        { 0x1301, 20, [1], TlsAlertDescription.UnexpectedMessage },                         // change_cipher_spec
        { 0x1301, 0, [1], TlsAlertDescription.UnexpectedMessage },                          // no such content type
        { 0xC02B, 22, [24, 0, 0, 1, 0], TlsAlertDescription.UnexpectedMessage },            // no KeyUpdate in TLS 1.2
        { 0xC02B, 22, [20, 0, 0, 0], TlsAlertDescription.UnexpectedMessage },               // Finished
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void BrokenRecordsFailWithTheRightAlert(ushort suite, byte type, byte[] content, object alert)
    {
        var protocol = new RecordProtocol(NewServerState(suite));
        Assert.Equal(RecordAction.Fail, protocol.OnRecord((TlsContentType)type, content));
        Assert.False(protocol.ReadFailure!.SentByPeer);
        Assert.Equal((TlsAlertDescription)alert, protocol.ReadFailure.Description);
        Assert.False(protocol.WriteClosed); // the alert still has to go out
    }

    [Theory]
    [InlineData(0x1301, 0, RecordAction.FollowKeyUpdate)]
    [InlineData(0x1302, 1, RecordAction.FollowAndAnswerKeyUpdate)]
    [InlineData(0x1303, 1, RecordAction.FollowAndAnswerKeyUpdate)]
    public void AKeyUpdateMovesTheReadKey(ushort suite, byte request, object expectedAction)
    {
        var expected = (RecordAction)expectedAction;
        TlsSessionState state = NewServerState(suite, readSequence: 9);
        byte[] next = Next(state, state.ReadSecret);
        byte[] key = new byte[state.Suite.KeyLength], iv = new byte[12];
        TlsKeySchedule.DeriveTls13Keys(state.Suite, next, key, iv);
        var protocol = new RecordProtocol(state);
        Assert.Equal(expected, protocol.OnRecord(TlsContentType.Handshake, [24, 0, 0, 1, request]));
        Assert.Equal(next, state.ReadSecret);
        Assert.Equal(key, state.ReadKey);
        Assert.Equal(iv, state.ReadIv);
        Assert.Equal(0UL, state.ReadSequence);
        Assert.False(protocol.KeyUpdateOwed); // owing the answer is the writer's business, under its lock
    }

    [Fact]
    public void AKeyUpdateSplitIntoSingleBytesIsReassembled()
    {
        TlsSessionState state = NewServerState(0x1301);
        byte[] next = Next(state, state.ReadSecret);
        var protocol = new RecordProtocol(state);
        foreach (byte b in new byte[] { 24, 0, 0, 1 }) Assert.Equal(RecordAction.Nothing, protocol.OnRecord(TlsContentType.Handshake, [b]));
        Assert.Equal(RecordAction.FollowAndAnswerKeyUpdate, protocol.OnRecord(TlsContentType.Handshake, [1]));
        Assert.Equal(next, state.ReadSecret);
    }

    [Theory]
    [InlineData(new byte[] { 24 })]
    [InlineData(new byte[] { 24, 0, 0 })]
    [InlineData(new byte[] { 24, 0, 0, 1 })]
    public void ABackendThatNeedsKeyUpdatesInOneRecordRefusesASplitOne(byte[] start)
    {
        TlsSessionState state = NewServerState(0x1301);
        byte[] secret = state.ReadSecret.ToArray();
        var protocol = new RecordProtocol(state, keyUpdateInOneRecord: true);
        Assert.Equal(RecordAction.Fail, protocol.OnRecord(TlsContentType.Handshake, start));
        Assert.Equal(TlsAlertDescription.UnexpectedMessage, protocol.ReadFailure!.Description);
        Assert.Equal(secret, state.ReadSecret);
    }

    [Fact]
    public void DataInsideASplitHandshakeMessageFails()
    {
        var protocol = new RecordProtocol(NewServerState(0x1301));
        Assert.Equal(RecordAction.Nothing, protocol.OnRecord(TlsContentType.Handshake, [24, 0]));
        Assert.Equal(RecordAction.Fail, protocol.OnRecord(TlsContentType.ApplicationData, "x"u8));
        Assert.Equal(TlsAlertDescription.UnexpectedMessage, protocol.ReadFailure!.Description);
    }

    [Fact]
    public void ATls12ClientHelloIsRefusedAndSkippedAcrossRecords()
    {
        var protocol = new RecordProtocol(NewServerState(0xC02F));
        Assert.Equal(RecordAction.RefuseRenegotiation, protocol.OnRecord(TlsContentType.Handshake, [1, 0, 0, 6, 3, 3]));
        Assert.Equal(RecordAction.Nothing, protocol.OnRecord(TlsContentType.Handshake, [9, 9, 9, 9])); // rest of its body
        Assert.Equal(RecordAction.Data, protocol.OnRecord(TlsContentType.ApplicationData, "ok"u8));
    }

    [Fact]
    public void KeyUpdatesHaveTheirOwnMuchHigherBound()
    {
        // OpenSSL follows any number of KeyUpdates; a 33rd in a row was refused here once.
        var protocol = new RecordProtocol(NewServerState(0x1301));
        for (int i = 0; i < RecordProtocol.MaxKeyUpdatesWithoutData; i++)
            Assert.Equal(RecordAction.FollowKeyUpdate, protocol.OnRecord(TlsContentType.Handshake, [24, 0, 0, 1, 0]));
        // KeyUpdates do not use up the bound of the other records without data, and data resets both.
        Assert.Equal(RecordAction.Nothing, protocol.OnRecord(TlsContentType.ApplicationData, []));
        Assert.Equal(RecordAction.Data, protocol.OnRecord(TlsContentType.ApplicationData, "x"u8));
        for (int i = 0; i < RecordProtocol.MaxKeyUpdatesWithoutData; i++)
            Assert.Equal(RecordAction.FollowKeyUpdate, protocol.OnRecord(TlsContentType.Handshake, [24, 0, 0, 1, 0]));
        Assert.Equal(RecordAction.Fail, protocol.OnRecord(TlsContentType.Handshake, [24, 0, 0, 1, 0]));
        Assert.Equal(TlsAlertDescription.UnexpectedMessage, protocol.ReadFailure!.Description);
    }

    [Fact]
    public void ThirtyTwoRecordsWithoutDataAreAllowedNotThirtyThree()
    {
        var protocol = new RecordProtocol(NewServerState(0xC02F));
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < RecordProtocol.MaxRecordsWithoutData; i++)
                Assert.NotEqual(RecordAction.Fail, protocol.OnRecord(TlsContentType.ApplicationData, []));
            Assert.Equal(RecordAction.Data, protocol.OnRecord(TlsContentType.ApplicationData, "x"u8)); // resets the count
        }
        for (int i = 0; i < RecordProtocol.MaxRecordsWithoutData; i++)
            Assert.Equal(RecordAction.RefuseRenegotiation, protocol.OnRecord(TlsContentType.Handshake, [1, 0, 0, 0]));
        Assert.Equal(RecordAction.Fail, protocol.OnRecord(TlsContentType.Alert, [Warning, 100]));
        Assert.Equal(TlsAlertDescription.UnexpectedMessage, protocol.ReadFailure!.Description);
    }

    [Theory]
    [InlineData(0x1301, RecordProtocol.Tls13KeyUpdateThreshold - 1, 1, false)]
    [InlineData(0x1301, RecordProtocol.Tls13KeyUpdateThreshold - 1, 2, true)]
    [InlineData(0x1302, RecordProtocol.Tls13KeyUpdateThreshold, 1, true)]
    [InlineData(0x1303, 0, 16, false)]
    [InlineData(0xC02B, RecordProtocol.Tls12GcmRecordLimit - 1, 1, false)]
    [InlineData(0xCCA8, RecordProtocol.Tls12GcmRecordLimit, 16, false)]
    [InlineData(0xCCA9, ulong.MaxValue - 1, 1, false)]
    public void UsageLimitsAskForAKeyUpdateInTls13(ushort suite, ulong written, int records, bool keyUpdate)
    {
        TlsSessionState state = NewServerState(suite, writeSequence: written);
        Assert.Equal(keyUpdate, new RecordProtocol(state).KeyUpdateBeforeData(records));
    }

    [Theory]
    [InlineData(0xC02B, RecordProtocol.Tls12GcmRecordLimit, 1)]
    [InlineData(0xC030, RecordProtocol.Tls12GcmRecordLimit - 1, 2)]
    [InlineData(0xCCA8, ulong.MaxValue, 1)]
    public void UsageLimitsFailTls12Writes(ushort suite, ulong written, int records)
    {
        var protocol = new RecordProtocol(NewServerState(suite, writeSequence: written));
        Assert.Throws<IOException>(() => protocol.KeyUpdateBeforeData(records));
    }

    [Fact]
    public void AnOwedKeyUpdateGoesBeforeDataAndNonFatalAlertsOnly()
    {
        TlsSessionState state = NewServerState(0x1301);
        state.KeyUpdatePending = true;
        var protocol = new RecordProtocol(state);
        Assert.True(protocol.KeyUpdateOwed);
        Assert.True(protocol.KeyUpdateBeforeData(1));
        Assert.True(protocol.KeyUpdateBeforeAlert(TlsAlertLevel.Warning));
        Assert.False(protocol.KeyUpdateBeforeAlert(TlsAlertLevel.Fatal));
    }

    [Fact]
    public void AdvancingTheWriteKeyFollowsTheKeyScheduleAndSettlesWhatWasOwed()
    {
        TlsSessionState state = NewServerState(0x1302, writeSequence: 77);
        state.KeyUpdatePending = true;
        byte[] next = Next(state, state.WriteSecret);
        byte[] key = new byte[32], iv = new byte[12];
        TlsKeySchedule.DeriveTls13Keys(state.Suite, next, key, iv);
        var protocol = new RecordProtocol(state);
        Span<byte> message = stackalloc byte[RecordProtocol.KeyUpdateLength];
        protocol.WriteKeyUpdate(requestPeerUpdate: true, message);
        Assert.Equal([24, 0, 0, 1, 1], message.ToArray());
        protocol.AdvanceWriteKey();
        Assert.Equal(next, state.WriteSecret);
        Assert.Equal(key, state.WriteKey);
        Assert.Equal(iv, state.WriteIv);
        Assert.Equal(0UL, state.WriteSequence);
        Assert.False(protocol.KeyUpdateOwed);
        Assert.False(state.KeyUpdatePending);
        Assert.False(protocol.KeyUpdateBeforeData(1));
    }

    [Theory]
    [InlineData(Warning, 100, false)]
    [InlineData(Warning, 0, true)]
    [InlineData(Fatal, 20, true)]
    public void CloseNotifyAndFatalAlertsCloseTheWriteSide(byte level, byte description, bool closes)
    {
        var protocol = new RecordProtocol(NewServerState(0xC02F));
        Span<byte> message = stackalloc byte[RecordProtocol.AlertLength];
        protocol.WriteAlert((TlsAlertLevel)level, (TlsAlertDescription)description, message);
        Assert.Equal([level, description], message.ToArray());
        Assert.Equal(closes, protocol.WriteClosed);
    }

    [Fact]
    public void Tls12HasNoKeyUpdate() =>
        Assert.Throws<InvalidOperationException>(() => new RecordProtocol(NewServerState(0xC02F)).WriteKeyUpdate(false, new byte[5]));

    [Theory]
    [InlineData(16384, 1, 1)]
    [InlineData(16384, 16384, 1)]
    [InlineData(16384, 16385, 2)]
    [InlineData(512, 2000, 4)]
    public void RecordsForCountsWholeRecords(int maxPlaintext, int length, int records) =>
        Assert.Equal(records, new RecordProtocol(NewServerState(0xC02C, maxPlaintext: maxPlaintext)).RecordsFor(length));

    private static byte[] Next(TlsSessionState state, byte[] secret)
    {
        byte[] next = secret.ToArray();
        TlsKeySchedule.UpdateTrafficSecret(state.Suite, next);
        return next;
    }
}
