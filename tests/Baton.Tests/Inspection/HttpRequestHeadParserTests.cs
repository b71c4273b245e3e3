using System.Net;
using System.Text;

namespace Baton.Tests.Inspection;

public class HttpRequestHeadParserTests
{
    internal const string BrowserHead =
        "GET /search/results?q=baton&lang=en HTTP/1.1\r\n" +
        "Host: WWW.Example.com\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Connection: keep-alive\r\n" +
        "Cookie: session=0123456789abcdef; theme=dark\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "Sec-Fetch-Dest: document\r\n" +
        "Sec-Fetch-Mode: navigate\r\n" +
        "Sec-Fetch-Site: none\r\n" +
        "Priority: u=0, i\r\n" +
        "\r\n";

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static HttpRequestHead AssertComplete(string text, HttpHeadLimits? limits = null)
    {
        ParseStatus status = HttpRequestHeadParser.Parse(Bytes(text), limits, out HttpRequestHead? head, out HttpHeadError error);
        Assert.Equal((ParseStatus.Complete, HttpHeadError.None), (status, error));
        return head!;
    }

    private static void AssertInvalid(string text, HttpHeadError expected, HttpHeadLimits? limits = null)
    {
        ParseStatus status = HttpRequestHeadParser.Parse(Bytes(text), limits, out HttpRequestHead? head, out HttpHeadError error);
        Assert.Equal((ParseStatus.Invalid, expected), (status, error));
        Assert.Null(head);
    }

    [Fact]
    public void BrowserHeadYieldsItsFields()
    {
        HttpRequestHead head = AssertComplete(BrowserHead + "body bytes");
        Assert.Equal("GET", head.Method);
        Assert.Same("GET", head.Method);
        Assert.Equal("/search/results?q=baton&lang=en", head.Target);
        Assert.Equal("/search/results", head.Path);
        Assert.Equal(HttpVersion.Version11, head.Version);
        Assert.Equal("www.example.com", head.Host);
        Assert.Null(head.Port);
        Assert.Equal(12, head.HeaderCount);
        Assert.Null(head.ContentLength);
        Assert.False(head.IsChunked);
        Assert.Equal(BrowserHead.Length, head.HeadLength);
    }

    [Fact]
    public void EveryPrefixNeedsMoreData()
    {
        byte[] data = Bytes(BrowserHead);
        for (int length = 0; length < data.Length; length++)
        {
            Assert.Equal(ParseStatus.NeedMoreData, HttpRequestHeadParser.Parse(data.AsSpan(0, length), null, out _, out _));
        }
    }

    [Theory]
    [InlineData("POST /upload HTTP/1.1\r\nHost: a.example:8443\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n", "a.example", 8443, 42L, false)]
    [InlineData("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: Chunked\r\n\r\n", "a.example", null, null, true)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", null, null, null, false)]
    [InlineData("GET / HTTP/1.1\r\nHost:\r\n\r\n", "", null, null, false)]
    [InlineData("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:443\r\n\r\n", "[2001:db8::1]", 443, null, false)]
    [InlineData("GET / HTTP/1.1\r\nhOsT: \t192.0.2.1 \r\n\r\n", "192.0.2.1", null, null, false)]
    [InlineData("GET http://A.example:81/p?q HTTP/1.1\r\nHost: a.example:81\r\n\r\n", "a.example", 81, null, false)]
    [InlineData("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "a.example", 443, null, false)]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", null, null, false)]
    public void ValidHeads(string text, string? host, int? port, long? contentLength, bool chunked)
    {
        HttpRequestHead head = AssertComplete(text);
        Assert.Equal((host, port, contentLength, chunked, text.Length), (head.Host, head.Port, head.ContentLength, head.IsChunked, head.HeadLength));
    }

    [Fact]
    public void PathDependsOnTheTargetForm()
    {
        Assert.Equal("/p", AssertComplete("GET http://a.example/p?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n").Path);
        Assert.Equal("/", AssertComplete("GET https://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n").Path);
        Assert.Equal("*", AssertComplete("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").Path);
        Assert.Null(AssertComplete("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n").Path);
        Assert.Equal("/a%2Fb;x=1", AssertComplete("GET /a%2Fb;x=1?[raw]|{q}\" HTTP/1.1\r\nHost: a\r\n\r\n").Path);
        Assert.Equal("PURGE", AssertComplete("PURGE / HTTP/1.1\r\nHost: a\r\n\r\n").Method);
    }

    [Theory]
    [InlineData("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HttpHeadError.BadRequestLine)]
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HttpHeadError.BadRequestLine)]
    [InlineData(" GET / HTTP/1.1\r\n", HttpHeadError.BadRequestLine)]
    [InlineData("GET /\r\n", HttpHeadError.BadRequestLine)]
    [InlineData("GET\r\n", HttpHeadError.BadRequestLine)]
    [InlineData("G(T / HTTP/1.1\r\n", HttpHeadError.BadMethod)]
    [InlineData("GET / HTTP/1.1 \r\n", HttpHeadError.BadVersion)]
    [InlineData("GET / http/1.1\r\n", HttpHeadError.BadVersion)]
    [InlineData("GET / HTTP/1.10\r\n", HttpHeadError.BadVersion)]
    [InlineData("GET / HTTP/2.0\r\n", HttpHeadError.UnsupportedVersion)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HttpHeadError.UnsupportedVersion)]
    [InlineData("GET /a b HTTP/1.1\r\n", HttpHeadError.BadVersion)]
    [InlineData("GET /a\u0001b HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET /a\u00e9 HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET /a#frag HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET /a%2 HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET /a%zz HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET /a\\b HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET a.example HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET ftp://a.example/ HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET http://user@a.example/ HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET http:///p HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET * HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("CONNECT / HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("CONNECT a.example HTTP/1.1\r\n", HttpHeadError.BadTarget)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n Folded\r\n\r\n", HttpHeadError.ObsFold)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\tFolded", HttpHeadError.ObsFold)]
    [InlineData("GET / HTTP/1.1\rHost: a\r\n\r\n", HttpHeadError.BareCR)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HttpHeadError.BareCR)]
    [InlineData("GET / HTTP/1.1\nHost: a\n\n", HttpHeadError.BareLF)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n", HttpHeadError.BareLF)]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", HttpHeadError.InvalidHeaderName)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", HttpHeadError.InvalidHeaderName)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n", HttpHeadError.InvalidHeaderName)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nBad\u00e9: x\r\n\r\n", HttpHeadError.InvalidHeaderName)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n", HttpHeadError.InvalidHeaderValue)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u007fb\r\n\r\n", HttpHeadError.InvalidHeaderValue)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u000bb\r\n\r\n", HttpHeadError.InvalidHeaderValue)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HttpHeadError.DuplicateHost)]
    [InlineData("GET / HTTP/1.1\r\nX: a\r\n\r\n", HttpHeadError.MissingHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a:080\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET / HTTP/1.1\r\nHost: a%41\r\n\r\n", HttpHeadError.BadHost)]
    [InlineData("GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", HttpHeadError.HostMismatch)]
    [InlineData("GET http://a.example/ HTTP/1.1\r\nHost: a.example:80\r\n\r\n", HttpHeadError.HostMismatch)]
    [InlineData("CONNECT a.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", HttpHeadError.HostMismatch)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", HttpHeadError.InvalidContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HttpHeadError.MultipleContentLength)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", HttpHeadError.ContentLengthWithTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", HttpHeadError.ContentLengthWithTransferEncoding)]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", HttpHeadError.BadTransferEncoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HttpHeadError.UnsupportedTransferCoding)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", HttpHeadError.UnsupportedTransferCoding)]
    public void Errors(string text, object expected) => AssertInvalid(text, (HttpHeadError)expected);

    [Fact]
    public void HeadLimitIsReportedAsSoonAsItIsPassed()
    {
        var limits = new HttpHeadLimits { MaxHeadBytes = 64 };
        string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('x', 32) + "\r\n\r\n";
        Assert.Equal(64, head.Length);
        AssertComplete(head, limits);
        AssertInvalid(head.Insert(30, "y"), HttpHeadError.HeadTooLarge, limits);
        // No terminator in the first 64 bytes: too large, however the rest would look.
        AssertInvalid("GET /" + new string('a', 59), HttpHeadError.HeadTooLarge, limits);
        Assert.Equal(ParseStatus.NeedMoreData, HttpRequestHeadParser.Parse(Bytes("GET /" + new string('a', 58)), limits, out _, out _));
        Assert.Equal(ParseStatus.NeedMoreData, HttpRequestHeadParser.Parse(Bytes("GET /" + new string('a', 1000)), null, out _, out _));
        AssertInvalid("GET /" + new string('a', 40000), HttpHeadError.HeadTooLarge);
    }

    [Fact]
    public void HeaderCountLimitIsEnforcedEarly()
    {
        var limits = new HttpHeadLimits { MaxHeaderCount = 3 };
        AssertComplete("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits);
        AssertInvalid("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", HttpHeadError.TooManyHeaders, limits);
        // Reported before the head ends.
        AssertInvalid("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD", HttpHeadError.TooManyHeaders, limits);
        AssertInvalid("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("X: 1\r\n", 101)), HttpHeadError.TooManyHeaders);
    }

    [Fact]
    public void RequestLineErrorsAreReportedBeforeTheHeadEnds()
    {
        AssertInvalid("GET / HTTP/9.9\r\nHost", HttpHeadError.UnsupportedVersion);
        AssertInvalid("\x16\x03\x01\x02\x00\x01\r\n", HttpHeadError.BadRequestLine);
    }

    [Theory]
    [InlineData(HttpHeadError.HeadTooLarge, 431)]
    [InlineData(HttpHeadError.TooManyHeaders, 431)]
    [InlineData(HttpHeadError.UnsupportedVersion, 505)]
    [InlineData(HttpHeadError.UnsupportedTransferCoding, 501)]
    [InlineData(HttpHeadError.BareLF, 400)]
    [InlineData(HttpHeadError.MissingHost, 400)]
    public void StatusCodes(object error, int status) => Assert.Equal(status, ((HttpHeadError)error).ToStatusCode());
}
