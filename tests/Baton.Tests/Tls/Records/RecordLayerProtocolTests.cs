using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// The same protocol cases against both record backends (<see cref="RecordBackends"/>): one protocol core, so the
/// same input must get the same answer whoever moves the records. The kernel rows are skipped where the kernel has
/// no TLS (or, for TLS 1.3, no rekey), with the reason.
/// </summary>
public class RecordLayerProtocolTests
{
    private const byte Warning = 1;
    private const byte Fatal = 2;

    public static IEnumerable<object[]> Backends() => RecordBackends.All.Select(backend => new object[] { backend });

    public static IEnumerable<object[]> Tls13Suites() => RecordBackends.Cross([(ushort)0x1301], [(ushort)0x1302], [(ushort)0x1303]);

    public static IEnumerable<object[]> SomeSuites() => RecordBackends.Cross([(ushort)0x1302], [(ushort)0xC02F], [(ushort)0xCCA9]);

    /// <summary>Decrypted records both layers see as they are (the kernel decrypts, the protocol judges).</summary>
    public static IEnumerable<object[]> BrokenPlaintexts() => RecordBackends.Cross(
        [Inner([4, 0, 0, 0], 22), TlsAlertDescription.UnexpectedMessage],                    // NewSessionTicket from a client
        [Inner([20, 0, 0, 32], 22), TlsAlertDescription.UnexpectedMessage],                  // Finished (post-handshake auth is off)
        [Inner([24, 0, 0, 2, 0, 0], 22), TlsAlertDescription.DecodeError],                   // KeyUpdate with a 2-byte body
        [Inner([24, 0, 0, 1, 5], 22), TlsAlertDescription.IllegalParameter],                 // request_update = 5
        [Inner([24, 0, 0, 1, 0, 24, 0, 0, 1, 0], 22), TlsAlertDescription.UnexpectedMessage], // data after a KeyUpdate
        [Inner([], 22), TlsAlertDescription.UnexpectedMessage],                              // empty handshake record
        [Inner([1], 20), TlsAlertDescription.UnexpectedMessage],                             // change_cipher_spec inside
        [Inner([1, 2, 3], 25), TlsAlertDescription.UnexpectedMessage],                       // unknown content type
        [Inner([1], 21), TlsAlertDescription.DecodeError]);                                  // 1-byte alert

    [SkippableTheory]
    [MemberData(nameof(BrokenPlaintexts))]
    public async Task ABrokenPlaintextGetsTheRightAlert(string backend, byte[] inner, object expectedAlert)
    {
        var expected = (TlsAlertDescription)expectedAlert;
        await using BackendSession t = await RecordBackends.StartAsync(backend, 0x1301);
        await t.Peer.SendRawAsync(SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, inner));
        await t.ExpectFailureAsync(expected);
        await t.Peer.ExpectAlertAsync(Fatal, expected);
        await t.ExpectFailureAsync(expected); // and stays failed
        await Assert.ThrowsAsync<IOException>(() => t.Server.WriteAsync(new byte[1]).AsTask());
    }

    [SkippableTheory]
    [MemberData(nameof(Tls13Suites))]
    public async Task TheClientsKeyUpdateIsFollowedAndAnswered(string backend, ushort suite)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, suite);
        await t.Peer.SendKeyUpdateAsync(requestUpdate: true);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "after"u8.ToArray());
        Assert.Equal("after"u8.ToArray(), await ReadExactlyAsync(t.Server, 5));
        await t.Peer.ExpectKeyUpdateAsync(requestUpdate: 0); // answered before the data was returned
        await t.Server.WriteAsync("pong"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectDataAsync("pong"u8.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AnUnrequestedKeyUpdateMovesOnlyTheReadKey(string backend)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, 0x1303);
        await t.Peer.SendKeyUpdateAsync(requestUpdate: false);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "a"u8.ToArray());
        Assert.Equal("a"u8.ToArray(), await ReadExactlyAsync(t.Server, 1));
        await t.Server.WriteAsync("b"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectDataAsync("b"u8.ToArray()); // no KeyUpdate first
    }

    /// <summary>The one rule for a KeyUpdate kernel TLS cannot follow: user space reassembles it, the kernel refuses it.</summary>
    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AKeyUpdateSplitAcrossRecords(string backend)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, 0x1302);
        await t.Peer.SendAsync(TlsContentType.Handshake, 24, 0);
        await t.Peer.SendAsync(TlsContentType.Handshake, 0, 1, 0);
        if (backend == RecordBackends.Kernel)
        {
            await t.ExpectFailureAsync(TlsAlertDescription.UnexpectedMessage);
            await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
            return;
        }
        t.Peer.AdvanceWriteKey();
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "after"u8.ToArray());
        Assert.Equal("after"u8.ToArray(), await ReadExactlyAsync(t.Server, 5));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AnOwedKeyUpdateGoesBeforeData(string backend)
    {
        TlsSessionState state = NewServerState(0x1302, writeSequence: 2);
        state.KeyUpdatePending = true;
        await using BackendSession t = await RecordBackends.StartAsync(backend, state);
        await t.Server.WriteAsync("x"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectKeyUpdateAsync(requestUpdate: 0);
        await t.Peer.ExpectDataAsync("x"u8.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AnOwedKeyUpdateGoesBeforeCloseNotify(string backend)
    {
        TlsSessionState state = NewServerState(0x1303);
        state.KeyUpdatePending = true;
        await using BackendSession t = await RecordBackends.StartAsync(backend, state);
        await t.Server.ShutdownAsync().WaitAsync(Deadline);
        await t.Peer.ExpectKeyUpdateAsync(requestUpdate: 0);
        await t.Peer.ExpectAlertAsync(Warning, TlsAlertDescription.CloseNotify);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AnOwedKeyUpdateDoesNotGoBeforeAFatalAlert(string backend)
    {
        TlsSessionState state = NewServerState(0x1301);
        state.KeyUpdatePending = true;
        await using BackendSession t = await RecordBackends.StartAsync(backend, state);
        byte[] record = SealTls13Aes128(t.Peer.WriteKey, t.Peer.WriteIv, 0, Inner("x"u8, 23));
        record[^1] ^= 1;
        await t.Peer.SendRawAsync(record);
        await t.ExpectFailureAsync(TlsAlertDescription.BadRecordMac);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.BadRecordMac); // under the old key: no KeyUpdate first
        await t.Server.DisposeAsync(); // nothing more after a fatal alert
        await t.Peer.ExpectEndOfStreamAsync();
    }

    [SkippableTheory]
    [MemberData(nameof(SomeSuites))]
    public async Task CloseNotifyEndsReadsAndIsAnsweredOnDispose(string backend, ushort suite)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, suite);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "last"u8.ToArray());
        await t.Peer.SendAsync(TlsContentType.Alert, Warning, 0);
        Assert.Equal("last"u8.ToArray(), await ReadToEndAsync(t.Server));
        Assert.Equal(0, await t.Server.ReadAsync(new byte[1]).AsTask().WaitAsync(Deadline));
        Assert.False(t.Server.ResetByPeer);
        await t.Server.DisposeAsync();
        await t.Peer.ExpectAlertAsync(Warning, TlsAlertDescription.CloseNotify);
        await t.Peer.ExpectEndOfStreamAsync();
    }

    [SkippableTheory]
    [MemberData(nameof(SomeSuites))]
    public async Task AFatalAlertFromThePeerFailsReadsAndNothingIsSentBack(string backend, ushort suite)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, suite);
        // TLS 1.3: every alert but close_notify and user_canceled is fatal, whatever its level says.
        byte level = TlsCipherSuiteInfo.Get(suite).IsTls13 ? Warning : Fatal;
        await t.Peer.SendAsync(TlsContentType.Alert, level, 40); // handshake_failure
        var e = await Assert.ThrowsAsync<TlsAlertException>(() => t.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        Assert.True(e.SentByPeer);
        Assert.Equal(40, (int)e.Description);
        await Assert.ThrowsAsync<IOException>(() => t.Server.WriteAsync(new byte[1]).AsTask());
        await t.Server.DisposeAsync();
        await t.Peer.ExpectEndOfStreamAsync(); // not even close_notify
    }

    [SkippableTheory]
    [MemberData(nameof(SomeSuites))]
    public async Task MoreThan32RecordsWithoutDataFail(string backend, ushort suite)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, suite);
        // Warnings that change nothing: user_canceled in TLS 1.3, no_renegotiation in TLS 1.2.
        byte[] warning = TlsCipherSuiteInfo.Get(suite).IsTls13 ? [Warning, 90] : [Warning, 100];
        for (int i = 0; i < RecordProtocol.MaxRecordsWithoutData; i++) await t.Peer.SendAsync(TlsContentType.Alert, warning);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "a"u8.ToArray()); // data resets the count
        Assert.Equal("a"u8.ToArray(), await ReadExactlyAsync(t.Server, 1));
        for (int i = 0; i <= RecordProtocol.MaxRecordsWithoutData; i++) await t.Peer.SendAsync(TlsContentType.Alert, warning);
        await t.ExpectFailureAsync(TlsAlertDescription.UnexpectedMessage);
        await t.Peer.ExpectAlertAsync(Fatal, TlsAlertDescription.UnexpectedMessage);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task RenegotiationIsRefusedWithAWarningAndTheSessionGoesOn(string backend)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, 0xC02F);
        await t.Peer.SendAsync(TlsContentType.Handshake, 1, 0, 0, 2, 3, 3); // ClientHello (truncated body, unparsed)
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "ok"u8.ToArray());
        Assert.Equal("ok"u8.ToArray(), await ReadExactlyAsync(t.Server, 2));
        await t.Peer.ExpectAlertAsync(Warning, TlsAlertDescription.NoRenegotiation);
        await t.Server.WriteAsync("still here"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectDataAsync("still here"u8.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(SomeSuites))]
    public async Task AResetReadsAsEndOfStream(string backend, ushort suite)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, suite);
        await t.Peer.SendAsync(TlsContentType.ApplicationData, "hi"u8.ToArray());
        Assert.Equal("hi"u8.ToArray(), await ReadExactlyAsync(t.Server, 2));
        Task<int> pending = t.Server.ReadAsync(new byte[10]).AsTask();
        t.Peer.Reset();
        Assert.Equal(0, await pending.WaitAsync(Deadline));
        Assert.True(t.Server.ResetByPeer);
        Assert.Equal(0, await t.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task AResetInsideARecordReadsAsEndOfStream(string backend)
    {
        await using BackendSession t = await RecordBackends.StartAsync(backend, 0x1302);
        Task<int> pending = t.Server.ReadAsync(new byte[10]).AsTask();
        await t.Peer.SendRawAsync([23, 3, 3, 0, 40, 1, 2, 3]); // a record that never ends
        t.Peer.Reset();
        Assert.Equal(0, await pending.WaitAsync(Deadline));
        Assert.True(t.Server.ResetByPeer);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Tls13RekeysBeforeTheUsageLimit(string backend)
    {
        TlsSessionState state = NewServerState(0x1301, writeSequence: RecordProtocol.Tls13KeyUpdateThreshold - 1);
        await using BackendSession t = await RecordBackends.StartAsync(backend, state);
        await t.Server.WriteAsync("one"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectDataAsync("one"u8.ToArray()); // the last record the key may seal
        await t.Server.WriteAsync("two"u8.ToArray()).AsTask().WaitAsync(Deadline);
        await t.Peer.ExpectKeyUpdateAsync(requestUpdate: 0);
        await t.Peer.ExpectDataAsync("two"u8.ToArray());
        Assert.Equal(1UL, state.WriteSequence);
    }

    public static IEnumerable<object[]> Tls12Limits() => RecordBackends.Cross([(ushort)0xC02B, true], [(ushort)0xCCA8, false]);

    [SkippableTheory]
    [MemberData(nameof(Tls12Limits))]
    public async Task Tls12RefusesToWritePastTheGcmLimit(string backend, ushort suite, bool refused)
    {
        TlsSessionState state = NewServerState(suite, writeSequence: RecordProtocol.Tls12GcmRecordLimit);
        await using BackendSession t = await RecordBackends.StartAsync(backend, state);
        Task write = t.Server.WriteAsync("z"u8.ToArray()).AsTask();
        if (refused)
        {
            await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(Deadline));
            return;
        }
        await write.WaitAsync(Deadline);
        await t.Peer.ExpectDataAsync("z"u8.ToArray());
    }
}
