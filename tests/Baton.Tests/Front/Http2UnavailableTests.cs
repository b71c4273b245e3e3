namespace Baton.Tests.Front;

/// <summary>How the front finds the stream of an HTTP/2 client's request in what it has read so far.</summary>
public sealed class Http2UnavailableTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private static byte[] Frame(byte type, uint stream, int payloadLength) =>
        [(byte)(payloadLength >> 16), (byte)(payloadLength >> 8), (byte)payloadLength, type, 0,
         (byte)(stream >> 24), (byte)(stream >> 16), (byte)(stream >> 8), (byte)stream, .. new byte[payloadLength]];

    [Fact]
    public void TheFirstHeadersFrameAfterThePrefaceAndOtherFramesNamesTheStream()
    {
        byte[] received = [.. Preface, .. Frame(0x4, 0, 18), .. Frame(0x8, 0, 4), .. Frame(0x1, 3, 20)];

        Assert.True(Http2Unavailable.FindRequestStream(received, out uint stream));
        Assert.Equal(3u, stream);
    }

    [Fact]
    public void MoreIsNeededUntilAHeadersFrameHeaderIsComplete()
    {
        byte[] received = [.. Preface, .. Frame(0x4, 0, 6), .. Frame(0x1, 1, 20)];
        int headersAt = Preface.Length + 9 + 6;

        foreach (int length in new[] { 0, 10, Preface.Length, Preface.Length + 5, headersAt, headersAt + 8 })
            Assert.Null(Http2Unavailable.FindRequestStream(received.AsSpan(0, length), out _));
        Assert.True(Http2Unavailable.FindRequestStream(received.AsSpan(0, headersAt + 9), out uint stream));
        Assert.Equal(1u, stream);
    }

    [Fact]
    public void BytesThatAreNotAnHttp2PrefaceOrAHeadersFrameOnStreamZeroAreRefused()
    {
        Assert.False(Http2Unavailable.FindRequestStream("GET / HTTP/1.1\r\n"u8, out _));
        Assert.False(Http2Unavailable.FindRequestStream([.. Preface, .. Frame(0x1, 0, 0)], out _));
    }
}
