
namespace Baton.Tests.Inspection;

public class ClientHelloParserTests
{
    private static ClientHelloInfo AssertComplete(byte[] data, int maxBytes = ClientHelloParser.DefaultMaxBytes)
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

    [Fact]
    public void TypicalHelloYieldsItsFields()
    {
        byte[] data = ClientHelloBuilder.Typical("A.Example").Build();
        ClientHelloInfo hello = AssertComplete(data);
        Assert.Equal("a.example", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.ApplicationProtocols);
        Assert.Equal([(ushort)0x3A3A, (ushort)0x0304, (ushort)0x0303], hello.SupportedVersions);
        Assert.True(hello.OffersTls13);
        Assert.Equal(0x0301, hello.RecordVersion);
        Assert.Equal(0x0303, hello.HelloVersion);
        Assert.Equal(3, hello.CipherSuiteCount);
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
        Assert.Equal(whole.SupportedVersions, hello.SupportedVersions);
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
        Assert.Empty(hello.SupportedVersions);
        Assert.False(hello.OffersTls13);

        builder.WithExtensionBlock = false;
        Assert.Null(AssertComplete(builder.Build()).ServerName);
    }

    [Fact]
    public void UnknownNameTypesAreSkippedAndHostNameKept()
    {
        byte[] list = ClientHelloBuilder.ServerNameList((7, [1, 2, 3]), (0, "b.example"u8.ToArray()));
        Assert.Equal("b.example", AssertComplete(WithExtensionReplacingSni(list)).ServerName);
    }

    [Theory]
    [InlineData(new byte[] { 0x17 }, ClientHelloError.NotTls)]
    [InlineData(new byte[] { 0x80, 0x2E, 0x01 }, ClientHelloError.NotTls)] // SSLv2-compatible hello
    [InlineData(new byte[] { (byte)'G', (byte)'E', (byte)'T' }, ClientHelloError.NotTls)]
    [InlineData(new byte[] { 0x16, 0x02 }, ClientHelloError.UnsupportedRecordVersion)]
    [InlineData(new byte[] { 0x16, 0x03, 0x05 }, ClientHelloError.UnsupportedRecordVersion)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x40, 0x01 }, ClientHelloError.RecordTooLarge)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x00 }, ClientHelloError.Malformed)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x10, 0x02 }, ClientHelloError.NotClientHello)]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x01, 0x00, 0x00 }, ClientHelloError.HelloTooLarge)]
    public void FirstBytesAreJudgedAtOnce(byte[] prefix, object expected) => AssertInvalid(prefix, (ClientHelloError)expected);

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

    [Fact]
    public void ARecordReachingPastTheHelloIsRefusedBeforeItsBytesArrive()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        byte[] header = [0x16, 0x03, 0x01, (byte)((message.Length + 1) >> 8), (byte)(message.Length + 1)];
        AssertInvalid([.. header, .. message.AsSpan(0, 4)], ClientHelloError.Malformed);
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
    public void ExtraHandshakeBytesInTheLastRecordAreMalformed()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        AssertInvalid(ClientHelloBuilder.ToRecords([.. message, 0x14, 0, 0, 0], 16384), ClientHelloError.Malformed);
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
    public void BadBodyFieldsAreMalformed()
    {
        AssertInvalid(new ClientHelloBuilder { SessionId = new byte[33] }.Build(), ClientHelloError.Malformed);
        AssertInvalid(new ClientHelloBuilder { CipherSuites = [] }.Build(), ClientHelloError.Malformed);
        AssertInvalid(new ClientHelloBuilder { Compression = [] }.Build(), ClientHelloError.Malformed);
        AssertInvalid(new ClientHelloBuilder { HelloVersion = 0x0203 }.Build(), ClientHelloError.Malformed);
        byte[] message = new ClientHelloBuilder().BuildMessage();
        message[4 + 2 + 32 + 1 + 32 + 1] = 0xFF; // cipher suite vector length overruns the message
        AssertInvalid(ClientHelloBuilder.ToRecords(message, 16384), ClientHelloError.Malformed);
    }

    [Fact]
    public void ExtensionLengthThatOverrunsIsMalformed()
    {
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        // The last extension is ECH (40 bytes): claim 41.
        message[^41] = 41;
        AssertInvalid(ClientHelloBuilder.ToRecords(message, 16384), ClientHelloError.Malformed);
    }

    [Fact]
    public void DuplicateExtensionIsRejected() =>
        AssertInvalid(WithExtension(16, ClientHelloBuilder.Alpn("h2")), ClientHelloError.DuplicateExtension);

    [Fact]
    public void PreSharedKeyMustBeLast()
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions.Insert(0, (41, [0, 0]));
        AssertInvalid(builder.Build(), ClientHelloError.Malformed);
        builder.Extensions.RemoveAt(0);
        builder.Extensions.Add((41, [0, 0]));
        AssertComplete(builder.Build());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a..example")]
    [InlineData("a.example.")]
    [InlineData("-a.example")]
    [InlineData("a-.example")]
    [InlineData("a example")]
    [InlineData("a\u00e9.example")]
    [InlineData("1234567890123456789012345678901234567890123456789012345678901234.example")]
    public void InvalidHostNamesAreRejected(string host)
    {
        byte[] name = System.Text.Encoding.Latin1.GetBytes(host);
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, name))), ClientHelloError.BadServerName);
    }

    [Fact]
    public void HostNameLengthIsBoundedBy255()
    {
        string label = new('a', 63);
        string ok = string.Join('.', label, label, label, new string('b', 63)); // 255 bytes
        Assert.Equal(ok, AssertComplete(WithExtensionReplacingSni(ClientHelloBuilder.ServerName(ok))).ServerName);
        AssertInvalid(WithExtensionReplacingSni(ClientHelloBuilder.ServerName(ok + "b")), ClientHelloError.BadServerName);
    }

    [Fact]
    public void MalformedServerNameListsAreRejected()
    {
        AssertInvalid(WithExtensionReplacingSni([]), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([0, 0]), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([0, 5, 0, 0, 9, (byte)'a']), ClientHelloError.BadServerName);
        AssertInvalid(WithExtensionReplacingSni([.. ClientHelloBuilder.ServerName("a.example"), 0]), ClientHelloError.BadServerName);
        AssertInvalid(
            WithExtensionReplacingSni(ClientHelloBuilder.ServerNameList((0, "a.example"u8.ToArray()), (0, "b.example"u8.ToArray()))),
            ClientHelloError.BadServerName);
    }

    [Fact]
    public void MalformedAlpnIsRejected()
    {
        AssertInvalid(WithExtensionReplacingAlpn(ClientHelloBuilder.Alpn("h2", "")), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([0, 0]), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([]), ClientHelloError.BadAlpn);
        AssertInvalid(WithExtensionReplacingAlpn([0, 3, 5, (byte)'h', (byte)'2']), ClientHelloError.BadAlpn);
    }

    [Fact]
    public void OpaqueAlpnBytesSurviveAsLatin1()
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions[2] = (16, ClientHelloBuilder.Alpn("\u00ff\u0001x", "h3"));
        Assert.Equal(["\u00ff\u0001x", "h3"], AssertComplete(builder.Build()).ApplicationProtocols);
    }

    [Fact]
    public void MalformedSupportedVersionsAreRejected()
    {
        foreach (byte[] bad in new byte[][] { [], [0], [3, 3, 4, 3], [2, 3, 4, 0], [1, 3] })
        {
            var builder = ClientHelloBuilder.Typical();
            builder.Extensions[3] = (43, bad);
            AssertInvalid(builder.Build(), ClientHelloError.BadSupportedVersions);
        }
    }

    [Fact]
    public void Tls12OnlyHelloDoesNotOfferTls13()
    {
        var builder = ClientHelloBuilder.Typical();
        builder.Extensions[3] = (43, ClientHelloBuilder.SupportedVersions(0x0303));
        Assert.False(AssertComplete(builder.Build()).OffersTls13);
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
