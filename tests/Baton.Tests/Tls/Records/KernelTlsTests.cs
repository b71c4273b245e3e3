using System.Net.Sockets;
using System.Security.Cryptography;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// Kernel TLS rules that hold on every machine: availability detection, the fallback decisions, and the exact
/// crypto_info bytes handed to TLS_TX / TLS_RX. The tests that need a kernel with TLS are in KernelTlsStreamTests
/// and the kernel rows of RecordLayerProtocolTests.
/// </summary>
public class KernelTlsTests
{
    [Fact]
    public void AvailabilityMatchesTheUlpList()
    {
        bool listed = File.Exists(KernelTls.UlpListPath) && KernelTls.ListsTls(File.ReadAllText(KernelTls.UlpListPath));
        Assert.Equal(listed, KernelTls.IsAvailable);
        Assert.Equal(listed, KernelTls.UnavailableReason is null);
        if (!listed) Assert.Contains(KernelTls.UlpListPath, KernelTls.UnavailableReason);
    }

    [Theory]
    [InlineData("tls", true)]
    [InlineData("mptcp tls\n", true)]
    [InlineData("espintcp\tmptcp tls", true)]
    [InlineData("mptcp\n", false)]
    [InlineData("", false)]
    [InlineData("tlsx mptcp", false)]
    [InlineData("TLS", false)]
    public void ListsTlsOnlyForTheExactName(string ulps, bool expected) => Assert.Equal(expected, KernelTls.ListsTls(ulps));

    [Theory]
    [InlineData("6.18.44-fc-v782\n", "6.18.44")]
    [InlineData("6.14.0-rc1", "6.14.0")]
    [InlineData("5.15.0-91-generic", "5.15.0")]
    [InlineData("6.14", "6.14")]
    [InlineData("6.14-custom", "6.14")]
    [InlineData("6", null)]
    [InlineData("linux", null)]
    [InlineData("", null)]
    [InlineData("99999999999.1", null)]
    public void ParsesKernelReleases(string release, string? expected) =>
        Assert.Equal(expected is null ? null : Version.Parse(expected), KernelTls.ParseKernelRelease(release));

    [Theory]
    [InlineData(0x1301)]
    [InlineData(0x1302)]
    [InlineData(0x1303)]
    public void Tls13NeedsAKernelThatRekeys(ushort suite)
    {
        using TlsSessionState state = NewServerState(suite);
        Assert.Contains("6.14", KernelTls.CheckKernel(state, new Version(6, 13, 9)));
        Assert.Contains("unknown version", KernelTls.CheckKernel(state, null));
        Assert.Null(KernelTls.CheckKernel(state, new Version(6, 14)));
        Assert.Null(KernelTls.CheckKernel(state, new Version(7, 0)));
    }

    [Theory]
    [InlineData(0xC02B)]
    [InlineData(0xC030)]
    [InlineData(0xCCA9)]
    public void Tls12RunsOnAnyKernelWithTls(ushort suite)
    {
        using TlsSessionState state = NewServerState(suite);
        Assert.Null(KernelTls.CheckKernel(state, new Version(4, 19)));
        Assert.Null(KernelTls.CheckKernel(state, null));
        Assert.Null(KernelTls.CheckSession(state, default));
    }

    [Fact]
    public async Task FallsBackWhenTheFrontPassedUndecryptedRecords()
    {
        var (server, client) = await ConnectSocketsAsync();
        TlsSessionState serverState = NewServerState(0x1301);
        Assert.Null(KernelTls.TryEnable(server, serverState, default, new byte[] { 23, 3, 3, 0, 17 }, out string? reason));
        Assert.Contains("5 bytes of records it had not decrypted", reason);
        await AssertUserSpaceLayerWorksAsync(server, client, serverState);
    }

    [Fact]
    public async Task FallsBackWhenMaxFragmentLengthWasNegotiated()
    {
        var (server, client) = await ConnectSocketsAsync();
        TlsSessionState serverState = NewServerState(0xC02F, maxPlaintext: 1024);
        Assert.Null(KernelTls.TryEnable(server, serverState, default, default, out string? reason));
        Assert.Contains("max_fragment_length", reason);
        await AssertUserSpaceLayerWorksAsync(server, client, serverState);
    }

    [SkippableFact]
    public async Task FallsBackWithTheReasonWhereTheKernelHasNoTls()
    {
        Skip.If(KernelTls.IsAvailable, "the kernel offers TLS here; the fallback for its absence cannot be observed");
        var (server, client) = await ConnectSocketsAsync();
        TlsSessionState serverState = NewServerState(0xC02C);
        Assert.Null(KernelTls.TryEnable(server, serverState, default, default, out string? reason));
        Assert.Equal(KernelTls.UnavailableReason, reason);
        Assert.Contains("without \"tls\"", reason);
        await AssertUserSpaceLayerWorksAsync(server, client, serverState);
    }

    [Fact]
    public void Tls13Aes128GcmSplitsTheIvIntoSaltAndIv()
    {
        using TlsSessionState state = StateWithPatternKeys(0x1301, writeSequence: 0x0102030405060708);
        byte[] expected = Hex(
            "0403 3300" +                                 // version 0x0304, cipher 51 (host order: little-endian)
            "2425262728292A2B" +                          // iv = IV[4..12]
            "000102030405060708090A0B0C0D0E0F" +          // key
            "20212223" +                                  // salt = IV[0..4]
            "0102030405060708");                          // rec_seq, big-endian
        Assert.Equal(expected, Build(state));
    }

    [Fact]
    public void Tls12Aes256GcmUsesTheImplicitIvAsSaltAndTheSequenceAsExplicitNonce()
    {
        using TlsSessionState state = StateWithPatternKeys(0xC030, writeSequence: 0x105);
        byte[] expected = Hex(
            "0303 3400" +
            "0000000000000105" +                          // explicit nonce of the next record = sequence
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" +
            "20212223" +                                  // salt = the 4-byte implicit IV
            "0000000000000105");
        Assert.Equal(expected, Build(state));
    }

    [Theory]
    [InlineData(0x1303, "0403")]
    [InlineData(0xCCA8, "0303")]
    public void ChaCha20Poly1305CarriesTheWholeIv(ushort suite, string version)
    {
        using TlsSessionState state = StateWithPatternKeys(suite, writeSequence: 0xFFFFFFFFFFFFFFFE);
        byte[] expected = Hex(
            version + "3600" +
            "202122232425262728292A2B" +                  // iv[12]
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" +
            "FFFFFFFFFFFFFFFE");                          // no salt
        Assert.Equal(expected, Build(state));
    }

    [Theory]
    [InlineData(0x1301, 40)]
    [InlineData(0x1302, 56)]
    [InlineData(0x1303, 56)]
    [InlineData(0xC02B, 40)]
    [InlineData(0xC02C, 56)]
    [InlineData(0xCCA9, 56)]
    public void StructSizesMatchLinuxTlsH(ushort suite, int size)
    {
        using TlsSessionState state = NewServerState(suite);
        Span<byte> info = stackalloc byte[KernelTlsCryptoInfo.MaxSize];
        Assert.Equal(size, KernelTlsCryptoInfo.Write(state.Suite, state.ReadKey, state.ReadIv, 0, info));
    }

    [Fact]
    public void TheExplicitNonceIsWhatTheUserSpaceLayerSends()
    {
        using TlsSessionState state = StateWithPatternKeys(0xC02F, writeSequence: 77);
        using var protector = new TlsRecordProtector(state.Suite, encrypt: true, state.WriteKey, state.WriteIv, state.WriteSequence);
        byte[] record = new byte[TlsRecordProtector.MaxSealedRecord];
        protector.Seal(TlsContentType.ApplicationData, "x"u8, record);
        Assert.Equal(record.AsSpan(5, 8).ToArray(), Build(state).AsSpan(4, 8).ToArray());
    }

    [Fact]
    public void RefusesKeysOfTheWrongLength()
    {
        TlsCipherSuiteInfo suite = TlsCipherSuiteInfo.Get(0x1301);
        byte[] info = new byte[KernelTlsCryptoInfo.MaxSize];
        Assert.Throws<ArgumentException>(() => KernelTlsCryptoInfo.Write(suite, new byte[32], new byte[12], 0, info));
        Assert.Throws<ArgumentException>(() => KernelTlsCryptoInfo.Write(suite, new byte[16], new byte[4], 0, info));
    }

    private static byte[] Build(TlsSessionState state)
    {
        Assert.True(BitConverter.IsLittleEndian, "the expected bytes spell version and cipher_type little-endian (x86_64, arm64)");
        byte[] info = new byte[KernelTlsCryptoInfo.MaxSize];
        int length = KernelTlsCryptoInfo.Write(state.Suite, state.WriteKey, state.WriteIv, state.WriteSequence, info);
        return info[..length];
    }

    /// <summary>Write key 00 01 02 …, write IV 20 21 22 …: every byte says where it came from.</summary>
    private static TlsSessionState StateWithPatternKeys(ushort suite, ulong writeSequence)
    {
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        byte[] key = Enumerable.Range(0, info.KeyLength).Select(i => (byte)i).ToArray();
        byte[] iv = Enumerable.Range(0x20, info.IvLength).Select(i => (byte)i).ToArray();
        byte[] secret = new byte[info.TrafficSecretLength];
        return TlsSessionState.Create(info.ProtocolVersion, suite, key, iv, key, iv, secret, secret,
            readSequence: 0, writeSequence, keyUpdatePending: false, TlsRecordLimits.MaxPlaintext);
    }

    /// <summary>After a fallback the socket must still carry the user-space record layer, both ways.</summary>
    private static async Task AssertUserSpaceLayerWorksAsync(Socket server, Socket client, TlsSessionState serverState)
    {
        TlsSessionState clientState = Mirror(serverState);
        await using var serverStream = new TlsRecordStream(new NetworkStream(server, ownsSocket: true), serverState);
        await using var clientStream = new TlsRecordStream(new NetworkStream(client, ownsSocket: true), clientState);
        byte[] request = RandomNumberGenerator.GetBytes(3000);
        await clientStream.WriteAsync(request).AsTask().WaitAsync(Deadline);
        Assert.Equal(request, await ReadExactlyAsync(serverStream, request.Length));
        await serverStream.WriteAsync("fallback"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("fallback"u8.ToArray(), await ReadExactlyAsync(clientStream, 8));
    }
}
