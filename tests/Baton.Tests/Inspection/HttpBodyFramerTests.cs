using System.Text;

namespace Baton.Tests.Inspection;

public sealed class HttpBodyFramerTests
{
    private const string Next = "GET /next HTTP/1.1\r\n";

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Feeds <paramref name="message"/> in pieces of <paramref name="piece"/> bytes; returns where the body ended.</summary>
    private static (ParseStatus Status, int End, HttpBodyError Error) Feed(HttpBodyFramer framer, byte[] message, int piece)
    {
        int offset = 0;
        while (offset < message.Length)
        {
            int length = Math.Min(piece, message.Length - offset);
            ParseStatus status = framer.Advance(message.AsSpan(offset, length), out int consumed, out HttpBodyError error);
            if (status != ParseStatus.NeedMoreData)
                return (status, offset + consumed, error);
            Assert.Equal(length, consumed);
            offset += length;
        }
        return (ParseStatus.NeedMoreData, offset, HttpBodyError.None);
    }

    public static TheoryData<string> ChunkedBodies => new()
    {
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "5;name=value;other=\"quoted ; \\\" string\"\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
        "5 ;ext\r\nhello\r\n0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n",
        "000000000000005\r\nhello\r\n0;last\r\n\r\n",
        "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(ChunkedBodies))]
    public void ChunkedBodyEndsExactlyBeforeTheNextRequestInAnyPieces(string body)
    {
        byte[] message = Bytes(body + Next);
        foreach (int piece in new[] { 1, 2, 3, 7, message.Length })
        {
            var (status, end, error) = Feed(HttpBodyFramer.Chunked(), message, piece);
            Assert.Equal((ParseStatus.Complete, HttpBodyError.None), (status, error));
            Assert.Equal(body.Length, end);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    public void ContentLengthBodyEndsAfterItsLength(int length)
    {
        byte[] message = [.. new byte[length], .. Bytes(Next)];
        var framer = HttpBodyFramer.ContentLength(length);
        Assert.Equal(length == 0, framer.IsComplete);
        var (status, end, _) = Feed(framer, message, 4096);
        Assert.Equal((ParseStatus.Complete, length), (status, end));
    }

    [Fact]
    public void AHeadWithoutFramingHasNoBody()
    {
        HttpRequestHeadParser.Parse(Bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), null, out HttpRequestHead? head, out _);
        Assert.True(HttpBodyFramer.ForRequest(head!).IsComplete);
        HttpRequestHeadParser.Parse(Bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), null, out head, out _);
        Assert.False(HttpBodyFramer.ForRequest(head!).IsComplete);
    }

    [Theory]
    [InlineData("5\r\nhel")]
    [InlineData("5\r\nhello\r")]
    [InlineData("5\r\nhello\r\n0\r\n")]
    [InlineData("5\r\nhello\r\n0\r\nTrailer: x\r\n")]
    [InlineData("5;ext")]
    [InlineData("")]
    public void TruncatedChunkedBodyNeedsMore(string body)
    {
        var (status, end, _) = Feed(HttpBodyFramer.Chunked(), Bytes(body), 1);
        Assert.Equal((ParseStatus.NeedMoreData, body.Length), (status, end));
    }

    [Theory]
    [InlineData("x\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData("\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData(";ext\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData("-5\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData("0x5\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData("1000000000000000\r\n", nameof(HttpBodyError.BadChunkSize))]
    [InlineData("5\nhello\r\n", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("5\rhello\r\n", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("5;ext\nhello", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("5;e\u0001xt\r\n", nameof(HttpBodyError.BadChunkExtension))]
    [InlineData("5\r\nhelloX\r\n", nameof(HttpBodyError.BadChunkEnd))]
    [InlineData("5\r\nhello\n", nameof(HttpBodyError.BadChunkEnd))]
    [InlineData("5\r\nhello\rX", nameof(HttpBodyError.BadChunkEnd))]
    [InlineData("0\r\n\n", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("0\r\n\rX", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("0\r\nA: b\n", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("0\r\nA: b\rX", nameof(HttpBodyError.BadLineEnd))]
    [InlineData("0\r\n folded\r\n", nameof(HttpBodyError.BadTrailer))]
    [InlineData("0\r\nA: b\u0000\r\n", nameof(HttpBodyError.BadTrailer))]
    public void MalformedChunkedBodyIsRefused(string body, string expectedName)
    {
        var expected = Enum.Parse<HttpBodyError>(expectedName);
        foreach (int piece in new[] { 1, body.Length })
        {
            var (status, _, error) = Feed(HttpBodyFramer.Chunked(), Bytes(body), piece);
            Assert.Equal((ParseStatus.Invalid, expected), (status, error));
        }
    }

    [Fact]
    public void OversizedChunkLineAndTrailersAreRefused()
    {
        byte[] extension = Bytes("5;" + new string('e', HttpBodyFramer.MaxChunkLineBytes));
        Assert.Equal(HttpBodyError.ChunkLineTooLong, Feed(HttpBodyFramer.Chunked(), extension, 512).Error);

        byte[] trailers = Bytes("0\r\n" + string.Concat(Enumerable.Repeat("X-Trailer: " + new string('v', 100) + "\r\n", 400)));
        Assert.Equal(HttpBodyError.TrailersTooLarge, Feed(HttpBodyFramer.Chunked(), trailers, 1000).Error);

        // Just under the bound is fine.
        byte[] longest = Bytes("5;" + new string('e', HttpBodyFramer.MaxChunkLineBytes - 3) + "\r\nhello\r\n0\r\n\r\n");
        Assert.Equal(ParseStatus.Complete, Feed(HttpBodyFramer.Chunked(), longest, 100).Status);
    }

    [Fact]
    public void RandomSplitsOfManyChunksAgreeWithTheWholeMessage()
    {
        var random = new Random(13);
        var body = new StringBuilder();
        for (int i = 0; i < 200; i++)
        {
            int size = random.Next(0, 3000) + 1;
            body.Append(size.ToString("x")).Append(i % 3 == 0 ? ";i=" + i : "").Append("\r\n").Append('d', size).Append("\r\n");
        }
        body.Append("0\r\nT: 1\r\n\r\n");
        byte[] message = Bytes(body + Next);
        for (int round = 0; round < 20; round++)
        {
            var (status, end, _) = Feed(HttpBodyFramer.Chunked(), message, random.Next(1, 5000));
            Assert.Equal((ParseStatus.Complete, body.Length), (status, end));
        }
    }
}
