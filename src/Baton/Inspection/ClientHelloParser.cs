using System.Buffers;
using System.Buffers.Binary;

namespace Baton.Inspection;

/// <summary>
/// Parses a TLS ClientHello from the raw bytes at the start of a connection (peeked with MSG_PEEK),
/// modelled on dotnet/runtime's TlsFrameHelper. The hello may be fragmented over several handshake
/// records and arrive over several TCP segments. Stateless and resumable: call again with the whole,
/// longer buffer after <see cref="ParseStatus.NeedMoreData"/>. Until the whole hello is present a
/// call only walks record headers, so repeated calls stay cheap; limits are enforced from the
/// announced lengths, before the bytes arrive.
/// <para>
/// The limit is on the handshake message, as libssl's own is (record headers are framing): a full-size
/// single-record hello, 2^14 bytes of handshake data and 16,389 bytes on the wire, fits the default.
/// What is peeked is bounded too, by <see cref="MaxWireBytes"/>: room for <see cref="HeaderAllowance"/>
/// record headers beyond the limit, so a hello at the limit may come in that many records and a
/// smaller one in more.
/// </para>
/// </summary>
internal static class ClientHelloParser
{
    /// <summary>Default bound on the ClientHello handshake message, its 4-byte header included.</summary>
    public const int DefaultMaxBytes = 16 * 1024;

    /// <summary>
    /// Record headers allowed for beyond the message limit: a 2^14-byte hello in 256 records of 64 bytes, far finer than
    /// any client splits one (anti-censorship tools cut it in a few pieces).
    /// </summary>
    public const int HeaderAllowance = 256;

    internal const int RecordHeaderLength = 5;
    internal const int MaxRecordPayload = 1 << 14;
    private const int HandshakeHeaderLength = 4;
    private const byte HandshakeContentType = 0x16;
    private const byte ClientHelloMessageType = 0x01;

    /// <summary>The most bytes the records of a hello under <paramref name="maxBytes"/> may take, headers included: what to peek at most.</summary>
    public static int MaxWireBytes(int maxBytes) => maxBytes + HeaderAllowance * RecordHeaderLength;

    /// <summary>Parses <paramref name="data"/>; bytes after the hello's last record are ignored.</summary>
    /// <param name="maxBytes">Largest accepted ClientHello message (4-byte handshake header included, record headers not).</param>
    public static ParseStatus Parse(
        ReadOnlySpan<byte> data, out ClientHelloInfo? hello, out ClientHelloError error, int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, HandshakeHeaderLength);
        hello = null;
        ParseStatus status = WalkRecords(data, maxBytes, out RecordSpan records, out error);
        if (status != ParseStatus.Complete)
        {
            return status;
        }

        error = records.Count == 1
            ? ParseMessage(data, records, data.Slice(RecordHeaderLength, records.MessageLength), out hello)
            : ParseFragmentedMessage(data, records, out hello);
        return error == ClientHelloError.None ? ParseStatus.Complete : ParseStatus.Invalid;
    }

    /// <summary>Where the hello lies once all its records are present.</summary>
    private struct RecordSpan
    {
        public int End;
        public int Count;
        public int MessageLength;
    }

    private static ParseStatus WalkRecords(
        ReadOnlySpan<byte> data, int maxBytes, out RecordSpan records, out ClientHelloError error)
    {
        records = default;
        Span<byte> handshakeHeader = stackalloc byte[HandshakeHeaderLength];
        int headerBytes = 0;
        int messageLength = -1;
        int offset = 0;
        int payloadSeen = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = data.Slice(offset);
            error = CheckRecordHeader(rest, offset, MaxWireBytes(maxBytes), out int payloadLength);
            if (error != ClientHelloError.None)
            {
                return ParseStatus.Invalid;
            }
            if (payloadLength < 0)
            {
                return ParseStatus.NeedMoreData;
            }

            ReadOnlySpan<byte> payload = rest.Slice(RecordHeaderLength, Math.Min(payloadLength, rest.Length - RecordHeaderLength));
            if (headerBytes < HandshakeHeaderLength)
            {
                // The 4-byte handshake header itself may be split across records.
                int take = Math.Min(HandshakeHeaderLength - headerBytes, payload.Length);
                payload.Slice(0, take).CopyTo(handshakeHeader.Slice(headerBytes));
                headerBytes += take;
                error = CheckHandshakeHeader(handshakeHeader.Slice(0, headerBytes), maxBytes, ref messageLength);
                if (error != ClientHelloError.None)
                {
                    return ParseStatus.Invalid;
                }
            }
            if (messageLength >= 0 && payloadSeen + payloadLength > messageLength)
            {
                // A client's first flight is the ClientHello alone; anything else in its records is bogus. Refused as
                // soon as both lengths are known, so no byte past the hello's end is ever waited for.
                error = ClientHelloError.Malformed;
                return ParseStatus.Invalid;
            }
            if (payload.Length < payloadLength)
            {
                return ParseStatus.NeedMoreData;
            }

            offset += RecordHeaderLength + payloadLength;
            payloadSeen += payloadLength;
            records.Count++;
            if (payloadSeen == messageLength)
            {
                records.End = offset;
                records.MessageLength = messageLength;
                return ParseStatus.Complete;
            }
        }
    }

    /// <summary>Checks whatever part of a record header is present; payloadLength is -1 until all 5 bytes are.</summary>
    private static ClientHelloError CheckRecordHeader(ReadOnlySpan<byte> rest, int offset, int maxWireBytes, out int payloadLength)
    {
        payloadLength = -1;
        if (rest.Length >= 1 && rest[0] != HandshakeContentType)
        {
            // Handshake messages must not be interleaved with other record types (RFC 8446 5.1).
            return offset == 0 ? ClientHelloError.NotTls : ClientHelloError.UnexpectedRecord;
        }
        if ((rest.Length >= 2 && rest[1] != 3) || (rest.Length >= 3 && rest[2] > 4))
        {
            return ClientHelloError.UnsupportedRecordVersion;
        }
        if (rest.Length < RecordHeaderLength)
        {
            return ClientHelloError.None;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(rest.Slice(3));
        if (length > MaxRecordPayload)
        {
            return ClientHelloError.RecordTooLarge;
        }
        if (length == 0)
        {
            // Zero-length handshake fragments are forbidden (RFC 8446 5.1) and would let a peer stall us for free.
            return ClientHelloError.Malformed;
        }
        if ((long)offset + RecordHeaderLength + length > maxWireBytes)
        {
            return ClientHelloError.TooFragmented;
        }
        payloadLength = length;
        return ClientHelloError.None;
    }

    private static ClientHelloError CheckHandshakeHeader(ReadOnlySpan<byte> header, int maxBytes, ref int messageLength)
    {
        if (header.Length >= 1 && header[0] != ClientHelloMessageType)
        {
            return ClientHelloError.NotClientHello;
        }
        if (header.Length < HandshakeHeaderLength || messageLength >= 0)
        {
            return ClientHelloError.None;
        }

        int bodyLength = (header[1] << 16) | (header[2] << 8) | header[3];
        messageLength = HandshakeHeaderLength + bodyLength;
        // Refused from the announced length, before the bytes arrive.
        return messageLength > maxBytes ? ClientHelloError.HelloTooLarge : ClientHelloError.None;
    }

    /// <summary>Joins the handshake fragments of several records into one pooled buffer, then parses.</summary>
    private static ClientHelloError ParseFragmentedMessage(ReadOnlySpan<byte> data, RecordSpan records, out ClientHelloInfo? hello)
    {
        byte[] joined = ArrayPool<byte>.Shared.Rent(records.MessageLength);
        try
        {
            int written = 0;
            for (int offset = 0; offset < records.End;)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(offset + 3));
                data.Slice(offset + RecordHeaderLength, length).CopyTo(joined.AsSpan(written));
                written += length;
                offset += RecordHeaderLength + length;
            }
            return ParseMessage(data, records, joined.AsSpan(0, written), out hello);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    private static ClientHelloError ParseMessage(
        ReadOnlySpan<byte> data, RecordSpan records, ReadOnlySpan<byte> message, out ClientHelloInfo? hello)
    {
        hello = null;
        var reader = new BigEndianReader(message.Slice(HandshakeHeaderLength));
        if (!reader.TryReadUInt16(out ushort helloVersion) ||
            !reader.TryReadBytes(32, out _) ||
            !reader.TryReadVector8(out ReadOnlySpan<byte> sessionId) || sessionId.Length > 32 ||
            !reader.TryReadVector16(out ReadOnlySpan<byte> suites) || suites.Length < 2 || suites.Length % 2 != 0 ||
            !reader.TryReadVector8(out ReadOnlySpan<byte> compression) || compression.IsEmpty ||
            (helloVersion >> 8) != 3)
        {
            return ClientHelloError.Malformed;
        }

        var extensions = new ClientHelloExtensions();
        if (!reader.IsEmpty)
        {
            // Extensions are optional before TLS 1.3, but if present the block must end the message exactly.
            if (!reader.TryReadVector16(out ReadOnlySpan<byte> block) || !reader.IsEmpty)
            {
                return ClientHelloError.Malformed;
            }
            ClientHelloError error = extensions.Parse(block);
            if (error != ClientHelloError.None)
            {
                return error;
            }
        }

        ushort[] versions = extensions.SupportedVersions();
        hello = new ClientHelloInfo
        {
            RecordVersion = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(1)),
            HelloVersion = helloVersion,
            ServerName = extensions.ServerName(),
            ApplicationProtocols = extensions.ApplicationProtocols(),
            SupportedVersions = versions,
            OffersTls13 = Array.IndexOf(versions, ClientHelloInfo.Tls13) >= 0,
            CipherSuiteCount = suites.Length / 2,
            Length = records.End,
        };
        return ClientHelloError.None;
    }
}
