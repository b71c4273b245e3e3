using System.Buffers.Binary;

namespace Baton.Front;

/// <summary>
/// The front's whole HTTP/2 conversation with a client no worker can take (RFC 9113): its server preface, the client's
/// preface and frames read up to the first HEADERS (its request), that stream answered 503 with <c>retry-after: 1</c>,
/// then GOAWAY naming it as the last stream. Some clients (.NET's HttpClient) send their request only after they have
/// the server's SETTINGS, so the request's stream is read rather than assumed. A client that sends none within the
/// bounds gets GOAWAY with last stream 0: nothing was processed and it may retry.
/// </summary>
internal static class Http2Unavailable
{
    private const int FrameHeaderLength = 9;
    private const byte HeadersType = 0x1;
    private const byte GoAwayType = 0x7;

    /// <summary>The most the front reads looking for the request: a client's first flight is a few hundred bytes.</summary>
    private const int MaxReadBytes = 64 * 1024;

    private static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>An empty SETTINGS frame: the server preface, all defaults.</summary>
    private static readonly byte[] ServerPreface = [0, 0, 0, 0x04, 0x00, 0, 0, 0, 0];

    /// <summary>
    /// HPACK literals without indexing, names from the static table (RFC 7541 Appendix A), so no dynamic table is
    /// involved: <c>:status</c> (index 8) <c>503</c>, <c>retry-after</c> (53) <c>1</c>, <c>content-length</c> (28) <c>0</c>.
    /// </summary>
    private static readonly byte[] HeaderBlock =
        [0x08, 3, (byte)'5', (byte)'0', (byte)'3', 0x0F, 53 - 15, 1, (byte)'1', 0x0F, 28 - 15, 1, (byte)'0'];

    public static async Task AnswerAsync(Stream tls, CancellationToken cancellationToken)
    {
        await tls.WriteAsync(ServerPreface, cancellationToken).ConfigureAwait(false);
        uint stream = await ReadRequestStreamAsync(tls, cancellationToken).ConfigureAwait(false);
        await tls.WriteAsync(Answer(stream), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stream of the client's first HEADERS frame; 0 when the client closes, sends no valid preface or no request within the read bound.</summary>
    private static async Task<uint> ReadRequestStreamAsync(Stream tls, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxReadBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await tls.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                return 0;
            length += read;
            if (FindRequestStream(buffer.AsSpan(0, length), out uint stream) is bool found)
                return found ? stream : 0;
        }
        return 0;
    }

    /// <summary>True with the stream of the first HEADERS frame, false when the bytes cannot be HTTP/2, null when more are needed.</summary>
    internal static bool? FindRequestStream(ReadOnlySpan<byte> received, out uint stream)
    {
        stream = 0;
        int prefix = Math.Min(received.Length, ClientPreface.Length);
        if (!received[..prefix].SequenceEqual(ClientPreface[..prefix]))
            return false;
        for (int offset = ClientPreface.Length; offset + FrameHeaderLength <= received.Length;)
        {
            ReadOnlySpan<byte> header = received.Slice(offset, FrameHeaderLength);
            if (header[3] == HeadersType)
            {
                stream = BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFF_FFFF;
                return stream != 0;
            }
            offset += FrameHeaderLength + (header[0] << 16 | header[1] << 8 | header[2]);
        }
        return null;
    }

    /// <summary>For a request on <paramref name="stream"/>: SETTINGS ACK (its SETTINGS came first), its 503, GOAWAY; for none: GOAWAY alone.</summary>
    private static byte[] Answer(uint stream)
    {
        var frames = new List<byte>();
        if (stream != 0)
        {
            frames.AddRange(Frame(0x04, 0x01, 0, []));
            // END_STREAM | END_HEADERS: the whole response.
            frames.AddRange(Frame(HeadersType, 0x05, stream, HeaderBlock));
        }
        byte[] goAway = new byte[8];
        // Last stream processed, then error code 0: NO_ERROR.
        BinaryPrimitives.WriteUInt32BigEndian(goAway, stream);
        frames.AddRange(Frame(GoAwayType, 0x00, 0, goAway));
        return [.. frames];
    }

    private static byte[] Frame(byte type, byte flags, uint stream, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[FrameHeaderLength + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame.AsSpan(FrameHeaderLength));
        return frame;
    }
}
