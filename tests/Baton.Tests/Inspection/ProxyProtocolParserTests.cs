using System.Net;
using System.Text;

namespace Baton.Tests.Inspection;

public class ProxyProtocolParserTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    private static ProxyHeader AssertComplete(byte[] data, int maxV2Bytes = ProxyProtocolParser.DefaultMaxV2Bytes)
    {
        ParseStatus status = ProxyProtocolParser.Parse(data, out ProxyHeader? header, out ProxyHeaderError error, maxV2Bytes);
        Assert.Equal((ParseStatus.Complete, ProxyHeaderError.None), (status, error));
        return header!;
    }

    private static void AssertInvalid(byte[] data, ProxyHeaderError expected, int maxV2Bytes = ProxyProtocolParser.DefaultMaxV2Bytes)
    {
        ParseStatus status = ProxyProtocolParser.Parse(data, out ProxyHeader? header, out ProxyHeaderError error, maxV2Bytes);
        Assert.Equal((ParseStatus.Invalid, expected), (status, error));
        Assert.Null(header);
    }

    private static void AssertEveryPrefixNeedsMoreData(byte[] data)
    {
        for (int length = 0; length < data.Length; length++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, ProxyProtocolParser.Parse(data.AsSpan(0, length), out _, out _));
            Assert.True(ProxyProtocolParser.CouldBeProxyHeader(data.AsSpan(0, length)));
        }
    }

    internal static byte[] V2(byte verCmd, byte family, byte[] block) =>
        [.. Signature, verCmd, family, (byte)(block.Length >> 8), (byte)block.Length, .. block];

    internal static byte[] Inet4Block(params byte[] tlvs) =>
        [192, 0, 2, 1, 198, 51, 100, 7, 0xC3, 0x50, 0x01, 0xBB, .. tlvs];

    [Fact]
    public void V1Tcp4()
    {
        byte[] data = Ascii("PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\nGET /");
        ProxyHeader header = AssertComplete(data);
        Assert.Equal((1, false), (header.Version, header.IsLocal));
        Assert.Equal(IPEndPoint.Parse("192.0.2.1:50000"), header.Source);
        Assert.Equal(IPEndPoint.Parse("198.51.100.7:443"), header.Destination);
        Assert.Equal(data.Length - 5, header.Length);
        AssertEveryPrefixNeedsMoreData(data.AsSpan(0, header.Length).ToArray());
    }

    [Fact]
    public void V1Tcp6()
    {
        ProxyHeader header = AssertComplete(Ascii("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 0 65535\r\n"));
        Assert.Equal(IPEndPoint.Parse("[2001:db8::1]:0"), header.Source);
        Assert.Equal(IPEndPoint.Parse("[::ffff:192.0.2.1]:65535"), header.Destination);
    }

    [Theory]
    [InlineData("PROXY UNKNOWN\r\n")]
    [InlineData("PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n")]
    public void V1UnknownHasNoAddresses(string line)
    {
        ProxyHeader header = AssertComplete(Ascii(line));
        Assert.Null(header.Source);
        Assert.Equal(line.Length, header.Length);
    }

    [Fact]
    public void V1LongestLineIsAcceptedAndOneMoreIsTooLong()
    {
        string address = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        string line = $"PROXY TCP6 {address} {address} 65535 65535\r\n";
        Assert.Equal(104, line.Length);
        AssertComplete(Ascii(line));
        string unknown = "PROXY UNKNOWN " + new string('x', 107 - 16) + "\r\n";
        Assert.Equal(107, unknown.Length);
        AssertComplete(Ascii(unknown));
        AssertInvalid(Ascii("PROXY UNKNOWN " + new string('x', 107 - 15) + "\r\n"), ProxyHeaderError.TooLong);
        AssertInvalid(Ascii("PROXY UNKNOWN " + new string('x', 200)), ProxyHeaderError.TooLong);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n", ProxyHeaderError.NotProxyProtocol)]
    [InlineData("\x16\x03\x01", ProxyHeaderError.NotProxyProtocol)]
    [InlineData("PROXy", ProxyHeaderError.BadSignature)]
    [InlineData("PUT /", ProxyHeaderError.BadSignature)]
    [InlineData("PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", ProxyHeaderError.BadFamily)]
    [InlineData("PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n", ProxyHeaderError.BadFamily)]
    [InlineData("PROXY \r\n", ProxyHeaderError.BadFamily)]
    [InlineData("PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.\u00e9 1 2", ProxyHeaderError.Malformed)]
    [InlineData("PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 0x1.2.3.4 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 ::1 1.2.3.4 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP6 fe80::1%1 ::1 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP6 [::1] ::1 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP6 1:::1 ::1 1 2\r\n", ProxyHeaderError.BadAddress)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", ProxyHeaderError.BadPort)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", ProxyHeaderError.BadPort)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 -2\r\n", ProxyHeaderError.BadPort)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 +2\r\n", ProxyHeaderError.BadPort)]
    [InlineData("PROXY TCP4 1.2.3.4 1.2.3.4 1 123456\r\n", ProxyHeaderError.BadPort)]
    public void V1Errors(string text, object expectedError)
    {
        var expected = (ProxyHeaderError)expectedError;
        AssertInvalid(Ascii(text), expected);
        if (expected is ProxyHeaderError.NotProxyProtocol)
        {
            Assert.False(ProxyProtocolParser.CouldBeProxyHeader(Ascii(text)));
        }
    }

    [Fact]
    public void V2ProxyInet4WithTlvs()
    {
        byte[] tlvs = [0x01, 0x00, 0x02, (byte)'h', (byte)'2', 0x04, 0x00, 0x00];
        byte[] data = V2(0x21, 0x11, Inet4Block(tlvs));
        ProxyHeader header = AssertComplete([.. data, 0x16, 0x03]);
        Assert.Equal((2, false, data.Length), (header.Version, header.IsLocal, header.Length));
        Assert.Equal(IPEndPoint.Parse("192.0.2.1:50000"), header.Source);
        Assert.Equal(IPEndPoint.Parse("198.51.100.7:443"), header.Destination);
        AssertEveryPrefixNeedsMoreData(data);
    }

    [Fact]
    public void V2ProxyInet6()
    {
        byte[] source = IPAddress.Parse("2001:db8::1").GetAddressBytes();
        byte[] destination = IPAddress.Parse("2001:db8::2").GetAddressBytes();
        ProxyHeader header = AssertComplete(V2(0x21, 0x21, [.. source, .. destination, 0x01, 0x02, 0x03, 0x04]));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 0x0102), header.Source);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 0x0304), header.Destination);
    }

    [Fact]
    public void V2LocalUnspecAndUnixHaveNoAddresses()
    {
        ProxyHeader local = AssertComplete(V2(0x20, 0x00, []));
        Assert.True(local.IsLocal);
        Assert.Null(local.Source);
        // LOCAL ignores the family byte and the block entirely.
        Assert.True(AssertComplete(V2(0x20, 0xFF, [1, 2, 3])).IsLocal);
        Assert.Null(AssertComplete(V2(0x21, 0x00, [9, 9, 9])).Source);
        ProxyHeader unix = AssertComplete(V2(0x21, 0x31, new byte[216]));
        Assert.Null(unix.Source);
        Assert.Equal(16 + 216, unix.Length);
    }

    [Fact]
    public void V2Errors()
    {
        AssertInvalid([.. Signature.AsSpan(0, 5), 0x01], ProxyHeaderError.BadSignature);
        AssertInvalid([.. Signature, 0x11], ProxyHeaderError.BadVersion);
        AssertInvalid([.. Signature, 0x22], ProxyHeaderError.BadCommand);
        AssertInvalid([.. Signature, 0x21, 0x41], ProxyHeaderError.BadFamily);
        AssertInvalid([.. Signature, 0x21, 0x13], ProxyHeaderError.BadFamily);
        AssertInvalid(V2(0x21, 0x11, new byte[11]), ProxyHeaderError.Truncated);
        AssertInvalid(V2(0x21, 0x21, new byte[35]), ProxyHeaderError.Truncated);
        AssertInvalid(V2(0x21, 0x31, new byte[215]), ProxyHeaderError.Truncated);
        AssertInvalid(V2(0x21, 0x11, Inet4Block(0x01, 0x00, 0x05, 0x00)), ProxyHeaderError.Truncated);
        AssertInvalid(V2(0x21, 0x11, Inet4Block(0x01, 0x00)), ProxyHeaderError.Truncated);
    }

    [Fact]
    public void V2LimitIsEnforcedFromTheLengthField()
    {
        // Only the 16-byte fixed part is present: the announced length is already too much.
        AssertInvalid([.. Signature, 0x21, 0x11, 0x06, 0x00], ProxyHeaderError.TooLong);
        byte[] data = V2(0x21, 0x11, Inet4Block(new byte[] { 0xE0, 0x00, 0x10 }.Concat(new byte[16]).ToArray()));
        AssertComplete(data, maxV2Bytes: data.Length);
        AssertInvalid(data.AsSpan(0, 16).ToArray(), ProxyHeaderError.TooLong, maxV2Bytes: data.Length - 1);
    }

    [Fact]
    public void CouldBeProxyHeaderAnswersFromTheFirstBytes()
    {
        Assert.True(ProxyProtocolParser.CouldBeProxyHeader([]));
        Assert.True(ProxyProtocolParser.CouldBeProxyHeader("PRO"u8));
        Assert.True(ProxyProtocolParser.CouldBeProxyHeader("PROXY TCP4 junk"u8));
        Assert.True(ProxyProtocolParser.CouldBeProxyHeader(Signature.AsSpan(0, 3)));
        Assert.False(ProxyProtocolParser.CouldBeProxyHeader([0x16]));
        Assert.False(ProxyProtocolParser.CouldBeProxyHeader("PUT"u8));
        Assert.False(ProxyProtocolParser.CouldBeProxyHeader("\r\n\r\nX"u8));
    }
}
