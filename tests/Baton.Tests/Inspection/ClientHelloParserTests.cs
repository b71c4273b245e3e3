namespace Baton.Tests.Inspection;

public class ClientHelloParserTests
{
    internal static ClientHelloInfo AssertComplete(byte[] data, int maxBytes = ClientHelloParser.DefaultMaxBytes)
    {
        ParseStatus status = ClientHelloParser.Parse(data, out ClientHelloInfo? hello, out ClientHelloError error, maxBytes);
        Assert.Equal((ParseStatus.Complete, ClientHelloError.None), (status, error));
        return hello!;
    }

    private static void AssertInvalid(byte[] data, ClientHelloError expected, int maxBytes = ClientHelloParser.DefaultMaxBytes)
    {
        ParseStatus status = ClientHelloParser.Parse(data, out ClientHelloInfo? hello, out ClientHelloError error, maxBytes);
        Assert.Equal((ParseStatus.Invalid, expected), (status, error));
        Assert.Null(hello);
    }

    private static byte[] WithExtension(ushort type, byte[] data)
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions.Add((type, data));
        return builder.Build();
    }

    internal static byte[] Record(byte type, ushort version, ReadOnlySpan<byte> payload) =>
        [type, (byte)(version >> 8), (byte)version, (byte)(payload.Length >> 8), (byte)payload.Length, .. payload];

    [Fact]
    public void TypicalHelloYieldsItsFields()
    {
        byte[] data = ClientHelloBuilder.Typical("A.Example").Build();
        ClientHelloInfo hello = AssertComplete(data);
        Assert.Equal("a.example", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
        Assert.Equal(data.Length, hello.Length);
    }

    [Fact]
    public void EveryPrefixNeedsMoreData()
    {
        byte[] data = ClientHelloBuilder.Typical().Build(fragmentSize: 50);
        for (int length = 0; length < data.Length; length++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, ClientHelloParser.Parse(data.AsSpan(0, length), out _, out _));
        }
        Assert.Equal(data.Length, AssertComplete(data).Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(100)]
    public void FragmentedAcrossRecordsGivesTheSameResult(int fragmentSize)
    {
        var builder = ClientHelloBuilder.Typical();
        ClientHelloInfo whole = AssertComplete(builder.Build());
        byte[] fragmented = builder.Build(fragmentSize);
        ClientHelloInfo hello = AssertComplete(fragmented, maxBytes: 64 * 1024);
        Assert.Equal(whole.ServerName, hello.ServerName);
        Assert.Equal(whole.ApplicationProtocols, hello.ApplicationProtocols);
        Assert.Equal(fragmented.Length, hello.Length);
    }

    [Fact]
    public void BytesAfterTheHelloAreIgnored()
    {
        byte[] data = ClientHelloBuilder.Typical().Build();
        ClientHelloInfo hello = AssertComplete([.. data, 0x17, 0x03, 0x03, 0xFF, 0xFF, 1, 2, 3]);
        Assert.Equal(data.Length, hello.Length);
    }

    [Fact]
    public void AbsentOptionalExtensionsGiveEmptyResults()
    {
        var builder = new ClientHelloBuilder();
        ClientHelloInfo hello = AssertComplete(builder.Build());
        Assert.Null(hello.ServerName);
        Assert.Empty(hello.ApplicationProtocols);

        builder.WithExtensionBlock = false;
        Assert.Null(AssertComplete(builder.Build()).ServerName);
    }

    [Theory]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00 }, ParseStatus.NeedMoreData, ClientHelloError.None)] // libssl waits for a whole header too
    [InlineData(new byte[] { (byte)'G', (byte)'E', (byte)'T', (byte)' ', (byte)'/' }, ParseStatus.Invalid, ClientHelloError.NotTls)]
    [InlineData(new byte[] { 0x16, 0x02, 0x00, 0x00, 0x05 }, ParseStatus.Invalid, ClientHelloError.NotTls)]
    [InlineData(new byte[] { 0x16, 0xFE, 0xFF, 0x00, 0x05 }, ParseStatus.Invalid, ClientHelloError.NotTls)] // DTLS
    [InlineData(new byte[] { 0x17, 0x03, 0x03, 0x00, 0x05 }, ParseStatus.Invalid, ClientHelloError.UnexpectedRecord)]
    [InlineData(new byte[] { 0x15, 0x03, 0x01, 0x00, 0x02 }, ParseStatus.Invalid, ClientHelloError.UnexpectedRecord)]
    [InlineData(new byte[] { 0x42, 0x03, 0x01, 0x00, 0x02 }, ParseStatus.Invalid, ClientHelloError.UnexpectedRecord)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x40, 0x01 }, ParseStatus.Invalid, ClientHelloError.RecordTooLarge)]
    [InlineData(new byte[] { 0x17, 0x03, 0x01, 0xFF, 0xFF }, ParseStatus.Invalid, ClientHelloError.RecordTooLarge)] // length before type, as libssl
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x10, 0x02 }, ParseStatus.Invalid, ClientHelloError.NotClientHello)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x01, 0x00, 0x00 }, ParseStatus.Invalid, ClientHelloError.HelloTooLarge)]
    public void RecordAndHandshakeHeadersAreJudgedAsLibsslJudgesThem(byte[] prefix, object status, object error)
    {
        Assert.Equal(((ParseStatus)status, (ClientHelloError)error), (ClientHelloParser.Parse(prefix, out _, out ClientHelloError actual), actual));
    }

    [Fact]
    public void ALaterRecordOfAnotherMajorVersionIsAProtocolVersionError()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        AssertInvalid([.. Record(0x16, 0x0301, message.AsSpan(0, 20)), .. Record(0x16, 0x0201, message.AsSpan(20))], ClientHelloError.UnsupportedRecordVersion);
    }

    [Fact]
    public void MoreThan32EmptyRecordsInARowAreUnexpected()
    {
        byte[] empty = Record(0x16, 0x0301, []);
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        byte[] split = [.. Record(0x16, 0x0301, message.AsSpan(0, 9)), .. Enumerable.Repeat(empty, 32).SelectMany(r => r), .. Record(0x16, 0x0301, message.AsSpan(9))];
        Assert.Equal("a.example", AssertComplete(split).ServerName);
        AssertInvalid([.. Enumerable.Repeat(empty, 33).SelectMany(r => r), .. ClientHelloBuilder.Typical().Build()], ClientHelloError.UnexpectedRecord);
    }

    [Fact]
    public void AnSslV2HelloIsLeftToLibsslWithNothingToRouteOn()
    {
        byte[] body = [0x01, 0x03, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10, 0x00, 0xC0, 0x2B, 0x00, 0xC0, 0x2F, .. new byte[16]];
        byte[] hello = [(byte)(0x80 | (body.Length >> 8)), (byte)body.Length, .. body];
        ClientHelloInfo info = AssertComplete([.. hello, 0x16]);
        Assert.Equal((hello.Length, null), (info.Length, info.ServerName));
        Assert.Equal(ParseStatus.NeedMoreData, ClientHelloParser.Parse(hello.AsSpan(0, hello.Length - 1), out _, out _));
        AssertInvalid(hello, ClientHelloError.HelloTooLarge, maxBytes: body.Length - 1);
    }

    [Fact]
    public void LimitIsEnforcedFromTheAnnouncedMessageLength()
    {
        // A 100-byte limit: the handshake header announces 101 bytes, before the rest arrives.
        AssertInvalid([0x16, 0x03, 0x01, 0x00, 0x65, 0x01, 0x00, 0x00, 0x61], ClientHelloError.HelloTooLarge, maxBytes: 100);
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        byte[] records = ClientHelloBuilder.ToRecords(message, fragmentSize: 60);
        AssertComplete(records, maxBytes: message.Length);
        AssertInvalid(records, ClientHelloError.HelloTooLarge, maxBytes: message.Length - 1);
    }

    /// <summary>The limit counts handshake bytes, not record headers: a legal full-size single record fits the default.</summary>
    [Fact]
    public void AFullSizeSingleRecordHelloFitsTheDefaultLimit()
    {
        byte[] atLimit = ClientHelloBuilder.ToRecords(PaddedMessage(ClientHelloParser.DefaultMaxBytes), 16384);
        Assert.Equal(16_389, atLimit.Length);
        Assert.Equal(16_389, AssertComplete(atLimit).Length);
        AssertInvalid(ClientHelloBuilder.ToRecords(PaddedMessage(ClientHelloParser.DefaultMaxBytes + 1), 16384), ClientHelloError.HelloTooLarge);
    }

    [Fact]
    public void TheLimitMayBeRaisedAbove16KiB()
    {
        byte[] records = ClientHelloBuilder.ToRecords(PaddedMessage(40_000), 16384);
        AssertComplete(records, maxBytes: 40_000);
        AssertInvalid(records, ClientHelloError.HelloTooLarge, maxBytes: 39_999);
    }

    [Fact]
    public void AHelloAtTheLimitMayComeIn256RecordsASmallerOneInMore()
    {
        byte[] atLimit = PaddedMessage(ClientHelloParser.DefaultMaxBytes);
        byte[] inAllowance = ClientHelloBuilder.ToRecords(atLimit, fragmentSize: 64);
        Assert.Equal(ClientHelloParser.MaxWireBytes(ClientHelloParser.DefaultMaxBytes), inAllowance.Length);
        AssertComplete(inAllowance);
        // Finer: refused at the record header that would pass the bound, without waiting for the rest.
        byte[] finer = ClientHelloBuilder.ToRecords(atLimit, fragmentSize: 63);
        AssertInvalid(finer.AsSpan(0, ClientHelloParser.MaxWireBytes(ClientHelloParser.DefaultMaxBytes)).ToArray(), ClientHelloError.TooFragmented);
        AssertComplete(ClientHelloBuilder.ToRecords(ClientHelloBuilder.Typical().BuildMessage(), fragmentSize: 1));
    }

    /// <summary>The hello is complete at its last byte: what follows in the same record is libssl's, and is not waited for.</summary>
    [Fact]
    public void ARecordReachingPastTheHelloIsCompleteAtTheHellosEnd()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        byte[] header = [0x16, 0x03, 0x01, (byte)((message.Length + 100) >> 8), (byte)(message.Length + 100)];
        Assert.Equal(5 + message.Length, AssertComplete([.. header, .. message]).Length);
        // Counted against the window only for the hello's bytes: a 1,792-byte window takes it.
        AssertComplete([0x16, 0x03, 0x01, 0x40, 0x00, .. message], maxBytes: 512);
    }

    /// <summary>A ClientHello message of exactly <paramref name="length"/> bytes (padding extension, RFC 7685).</summary>
    private static byte[] PaddedMessage(int length)
    {
        var builder = ClientHelloBuilder.Typical();
        int unpadded = builder.BuildMessage().Length;
        builder.Extensions.Add((21, new byte[length - unpadded - 4]));
        byte[] message = builder.BuildMessage();
        Assert.Equal(length, message.Length);
        return message;
    }

    [Fact]
    public void HandshakeInterleavedWithOtherRecordIsAnUnexpectedRecord()
    {
        byte[] data = ClientHelloBuilder.Typical().Build(fragmentSize: 40);
        data[45] = 0x17; // second record becomes application data
        AssertInvalid(data, ClientHelloError.UnexpectedRecord);
        AssertInvalid([.. data.AsSpan(0, 45), 0x17, 0x03, 0x03, 0x00, 0x00], ClientHelloError.UnexpectedRecord); // zero-length, before the rest
    }

    [Fact]
    public void TrailingGarbageInsideTheMessageIsMalformed()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        byte[] longer = [.. message, 0xAB];
        int bodyLength = longer.Length - 4;
        (longer[1], longer[2], longer[3]) = ((byte)(bodyLength >> 16), (byte)(bodyLength >> 8), (byte)bodyLength);
        AssertInvalid(ClientHelloBuilder.ToRecords(longer, 16384), ClientHelloError.Malformed);
    }

    [Fact]
    public void FramingThatOverrunsTheMessageIsMalformed()
    {
        AssertInvalid(ClientHelloBuilder.ToRecords([0x01, 0x00, 0x00, 0x00], 16384), ClientHelloError.Malformed);
        AssertInvalid(ClientHelloBuilder.ToRecords([0x01, 0x00, 0x00, 0x0C, 0x03, 0x03, .. new byte[10]], 16384), ClientHelloError.Malformed);
        byte[] message = new ClientHelloBuilder().BuildMessage();
        message[4 + 2 + 32] = 0xFF; // session id overruns
        AssertInvalid(ClientHelloBuilder.ToRecords(message, 16384), ClientHelloError.Malformed);
        message = new ClientHelloBuilder().BuildMessage();
        message[4 + 2 + 32 + 1 + 32] = 0xFF; // cipher suite vector length overruns the message
        AssertInvalid(ClientHelloBuilder.ToRecords(message, 16384), ClientHelloError.Malformed);
    }

    [Fact]
    public void ExtensionLengthThatOverrunsIsMalformed()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        // The last extension is ECH (40 bytes): claim 41.
        message[^41] = 41;
        AssertInvalid(ClientHelloBuilder.ToRecords(message, 16384), ClientHelloError.Malformed);
        AssertInvalid(WithBytesAppendedToTheExtensionBlock(0x00), ClientHelloError.Malformed);
        AssertInvalid(WithBytesAppendedToTheExtensionBlock(0x12, 0x34, 0x00), ClientHelloError.Malformed);
        Assert.Equal("a.example", AssertComplete(WithBytesAppendedToTheExtensionBlock(0x12, 0x34, 0x00, 0x00)).ServerName);
    }

    [Fact]
    public void ServerNameOrAlpnTwiceIsADuplicate()
    {
        AssertInvalid(WithExtension(16, ClientHelloBuilder.Alpn("h2")), ClientHelloError.DuplicateExtension);
        AssertInvalid(WithExtension(0, ClientHelloBuilder.ServerName("a.example")), ClientHelloError.DuplicateExtension);
    }

    /// <summary>libssl takes any bytes but a zero one, up to 255; what is not a DNS name routes as if there were no SNI.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("a..example")]
    [InlineData("a.example.")]
    [InlineData("-a.example")]
    [InlineData("a-.example")]
    [InlineData("a example")]
    [InlineData("[::1]")]
    [InlineData("a\u00e9.example")]
    [InlineData("1234567890123456789012345678901234567890123456789012345678901234.example")]
    public void NamesNoRouteCanMatchAreAcceptedAndRoutedAsNone(string host)
    {
        byte[] name = System.Text.Encoding.Latin1.GetBytes(host);
        ClientHelloInfo hello = AssertComplete(WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, name))));
        Assert.Null(hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
    }

    [Fact]
    public void HostNameLengthIsBoundedBy255()
    {
        string label = new('a', 63);
        string ok = string.Join('.', label, label, label, new string('b', 63)); // 255 bytes
        Assert.Equal(ok, AssertComplete(WithExtensionReplacingSni(ClientHelloBuilder.ServerName(ok))).ServerName);
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerName(ok + "b")), ClientHelloError.UnrecognizedServerName);
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, "a\0b"u8.ToArray()))), ClientHelloError.UnrecognizedServerName);
    }

    [Fact]
    public void ServerNameListsLibsslRefusesAreRefused()
    {
        AssertInvalid(WithExtensionReplacingSni([]), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([0, 0]), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([0, 5, 0, 0, 9, (byte)'a']), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([.. ClientHelloBuilder.ServerName("a.example"), 0]), ClientHelloError.BadServerName);
        AssertInvalid(
            WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, "a.example"u8.ToArray()), (0, "b.example"u8.ToArray()))),
            ClientHelloError.BadServerName);
        // libssl knows only host_name, and only as the one entry.
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((7, [1, 2, 3]), (0, "b.example"u8.ToArray()))), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, "b.example"u8.ToArray()), (7, [1]))), ClientHelloError.BadServerName);
    }

    [Fact]
    public void MalformedAlpnIsRejected()
    {
        AssertInvalid(WithExtensionReplacingAlpn(ClientHelloBuilder.Alpn("h2", "")), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([0, 0]), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([0, 1, 0]), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([]), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([0, 3, 5, (byte)'h', (byte)'2']), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([.. ClientHelloBuilder.Alpn("h2"), 0]), ClientHelloError.BadAlpn);
    }

    [Fact]
    public void OpaqueAlpnBytesSurviveAsLatin1()
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions[2] = (16, ClientHelloBuilder.Alpn("\u00ff\u0001x", "h3"));
        Assert.Equal(["\u00ff\u0001x", "h3"], AssertComplete(builder.Build()).ApplicationProtocols);
    }

    internal const int CipherSuitesOffset = 4 + 2 + 32 + 1 + 32; // Typical: a 32-byte session id

    internal static byte[] Handshake(byte[] body) => [0x01, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    /// <summary>Typical, with <paramref name="extra"/> after its last extension, inside the extension block.</summary>
    private static byte[] WithBytesAppendedToTheExtensionBlock(params byte[] extra)
    {
        var builder = ClientHelloBuilder.Typical();
        byte[] message = builder.BuildMessage();
        int blockAt = CipherSuitesOffset + 2 + builder.CipherSuites.Length * 2 + 1 + builder.Compression.Length;
        int blockLength = ((message[blockAt] << 8) | message[blockAt + 1]) + extra.Length;
        byte[] body = [.. message.AsSpan(4, blockAt - 4), (byte)(blockLength >> 8), (byte)blockLength, .. message.AsSpan(blockAt + 2), .. extra];
        return ClientHelloBuilder.ToRecords(Handshake(body), 16384);
    }

    private static byte[] WithExtensionReplacingSni(byte[] data)
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions[1] = (0, data);
        return builder.Build();
    }

    private static byte[] WithExtensionReplacingAlpn(byte[] data)
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions[2] = (16, data);
        return builder.Build();
    }
}
