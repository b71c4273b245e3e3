using System.Text;

namespace Baton.Tests.Inspection;

public sealed class HttpResponseFramerTests
{
    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Feeds the bytes in pieces; returns the ends of the responses that completed and the first failure.</summary>
    private static (List<int> Ends, HttpResponseError Error) Feed(string written, int piece, params bool[] headRequests)
    {
        byte[] data = Bytes(written);
        var framer = new HttpResponseFramer();
        var ends = new List<int>();
        int offset = 0;
        int pieceEnd = Math.Min(piece, data.Length);
        while (offset < data.Length)
        {
            bool head = ends.Count < headRequests.Length && headRequests[ends.Count];
            ParseStatus status = framer.Advance(data.AsSpan(offset, pieceEnd - offset), head, out int consumed, out HttpResponseError error);
            offset += consumed;
            if (status == ParseStatus.Invalid) return (ends, error);
            if (status == ParseStatus.Complete) ends.Add(offset);
            if (offset == pieceEnd) pieceEnd = Math.Min(pieceEnd + piece, data.Length);
        }
        return (ends, HttpResponseError.None);
    }

    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: x\r\n\r\nhello";
    private const string Chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    private const string NoContent = "HTTP/1.1 204 No Content\r\nServer: Kestrel\r\n\r\n";
    private const string NotModified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
    private const string Continue = "HTTP/1.1 100 Continue\r\n\r\n";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(1000)]
    public void EachResponseEndsWhereItsFramingSays(int piece)
    {
        string written = Ok + Chunked + NoContent + NotModified + Continue + Ok;
        var (ends, error) = Feed(written, piece);
        Assert.Equal(HttpResponseError.None, error);
        int a = Ok.Length, b = a + Chunked.Length, c = b + NoContent.Length, d = c + NotModified.Length;
        Assert.Equal([a, b, c, d, written.Length], ends);
    }

    [Fact]
    public void AResponseToHeadHasNoBodyWhateverItsLength()
    {
        string headAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
        var (ends, error) = Feed(headAnswer + Ok, 3, true, false);
        Assert.Equal(HttpResponseError.None, error);
        Assert.Equal([headAnswer.Length, headAnswer.Length + Ok.Length], ends);
    }

    [Fact]
    public void ConnectionCloseIsReported()
    {
        var framer = new HttpResponseFramer();
        byte[] data = Bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: keep-alive, Close\r\n\r\n");
        Assert.Equal(ParseStatus.Complete, framer.Advance(data, false, out int consumed, out _));
        Assert.Equal(data.Length, consumed);
        Assert.True(framer.ClosesConnection);
    }

    [Theory]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", nameof(HttpResponseError.Upgraded))]
    [InlineData("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close", nameof(HttpResponseError.CloseDelimited))]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", nameof(HttpResponseError.CloseDelimited))]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", nameof(HttpResponseError.BadField))]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", nameof(HttpResponseError.BadField))]
    [InlineData("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", nameof(HttpResponseError.BadField))]
    [InlineData("HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n", nameof(HttpResponseError.BadField))]
    [InlineData("HTTP/2 200 OK\r\n\r\n", nameof(HttpResponseError.BadStatusLine))]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", nameof(HttpResponseError.BadStatusLine))]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n", nameof(HttpResponseError.BadStatusLine))]
    [InlineData("HTTP/1.1 20x OK\r\n\r\n", nameof(HttpResponseError.BadStatusLine))]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", nameof(HttpResponseError.BadBody))]
    public void ResponsesAfterWhichNoBoundaryExistsAreRefused(string written, string expectedName)
    {
        var expected = Enum.Parse<HttpResponseError>(expectedName);
        foreach (int piece in new[] { 1, written.Length })
            Assert.Equal(expected, Feed(written, piece).Error);
    }

    [Fact]
    public void AnOversizedHeadIsRefusedAndATruncatedOneWaits()
    {
        string huge = "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Repeat("X-Big: " + new string('v', 1000) + "\r\n", 70));
        Assert.Equal(HttpResponseError.HeadTooLarge, Feed(huge, 4096).Error);

        var framer = new HttpResponseFramer();
        Assert.Equal(ParseStatus.NeedMoreData, framer.Advance(Bytes("HTTP/1.1 200 OK\r\nContent-Le"), false, out _, out _));
        Assert.Equal(ParseStatus.NeedMoreData, framer.Advance(Bytes("ngth: 2\r\n\r\na"), false, out _, out _));
        Assert.Equal(ParseStatus.Complete, framer.Advance(Bytes("bHTTP"), false, out int consumed, out _));
        Assert.Equal(1, consumed);
    }
}
