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
/// Lenient where libssl is: it reads only what routing needs (record framing, the handshake header, the
/// hello's framing, server_name and ALPN) and leaves every other field to the TLS library that runs the
/// handshake. Versions in the records and in the hello, cipher suites, groups, unknown, GREASE or repeated
/// unknown extensions, empty handshake records, bytes after the hello in its last record: none of them is
/// the front's to refuse. What it does refuse, libssl refuses too (<see cref="ClientHelloError"/>).
/// </para>
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

    /// <summary>Empty records in a row libssl takes before it answers unexpected_message (MAX_EMPTY_RECORDS).</summary>
    public const int MaxEmptyRecords = 32;

    internal const int RecordHeaderLength = 5;
    internal const int MaxRecordPayload = 1 << 14;
    private const int HandshakeHeaderLength = 4;
    internal const byte HandshakeContentType = 0x16;
    private const byte ClientHelloMessageType = 0x01;

    /// <summary>The most bytes the records of a hello under <paramref name="maxBytes"/> may take, headers included: what to peek at most.</summary>
    public static int MaxWireBytes(int maxBytes) => maxBytes + HeaderAllowance * RecordHeaderLength;

    /// <summary>Parses <paramref name="data"/>; bytes after the hello's last byte are ignored.</summary>
    /// <param name="maxBytes">Largest accepted ClientHello message (4-byte handshake header included, record headers not).</param>
    public static ParseStatus Parse(
        ReadOnlySpan<byte> data, out ClientHelloInfo? hello, out ClientHelloError error, int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, HandshakeHeaderLength);
        hello = null;
        error = ClientHelloError.None;
        if (data.Length < RecordHeaderLength)
        {
            // libssl reads a whole record header before it judges one; so does the front.
            return ParseStatus.NeedMoreData;
        }
        if (SslV2Hello.Is(data))
        {
            return SslV2Hello.Parse(data, maxBytes, out hello, out error);
        }
        ParseStatus status = WalkRecords(data, maxBytes, out RecordSpan records, out error);
        if (status != ParseStatus.Complete)
        {
            return status;
        }

        error = records.Fragments == 1
            ? ParseMessage(records, data.Slice(records.FirstPayload, records.MessageLength), out hello)
            : ParseFragmentedMessage(data, records, out hello);
        return error == ClientHelloError.None ? ParseStatus.Complete : ParseStatus.Invalid;
    }

    /// <summary>Where the hello lies once all its bytes are present.</summary>
    private struct RecordSpan
    {
        /// <summary>Offset just past the hello's last byte (its last record may go on: that is libssl's to read).</summary>
        public int End;

        /// <summary>Non-empty records that carry the hello.</summary>
        public int Fragments;

        /// <summary>Offset of the first hello byte.</summary>
        public int FirstPayload;

        public int MessageLength;
    }

    private static ParseStatus WalkRecords(
        ReadOnlySpan<byte> data, int maxBytes, out RecordSpan records, out ClientHelloError error)
    {
        records = default;
        Span<byte> handshakeHeader = stackalloc byte[HandshakeHeaderLength];
        int headerBytes = 0, messageLength = -1, offset = 0, payloadSeen = 0, emptyInARow = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = data.Slice(offset);
            error = ClientHelloError.None;
            if (rest.Length < RecordHeaderLength)
            {
                return ParseStatus.NeedMoreData;
            }
            error = CheckRecordHeader(rest, first: offset == 0, out int payloadLength);
            if (error != ClientHelloError.None)
            {
                return ParseStatus.Invalid;
            }
            if (payloadLength == 0)
            {
                // libssl skips empty records (a TLS 1.3 peer must not send empty handshake ones, but libssl takes them).
                if (++emptyInARow > MaxEmptyRecords)
                {
                    error = ClientHelloError.UnexpectedRecord;
                    return ParseStatus.Invalid;
                }
                offset += RecordHeaderLength;
                continue;
            }
            emptyInARow = 0;
            if (records.Fragments++ == 0)
            {
                records.FirstPayload = offset + RecordHeaderLength;
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
                if (messageLength < 0 && payload.Length < payloadLength)
                {
                    return ParseStatus.NeedMoreData;
                }
            }

            // What of this record is the hello's: its last record may carry more handshake bytes, which libssl reads.
            int contributes = messageLength < 0 ? payloadLength : Math.Min(payloadLength, messageLength - payloadSeen);
            if ((long)offset + RecordHeaderLength + contributes > MaxWireBytes(maxBytes))
            {
                // Judged from the announced lengths, so no byte past the window is ever waited for.
                error = ClientHelloError.TooFragmented;
                return ParseStatus.Invalid;
            }
            if (payload.Length < contributes)
            {
                return ParseStatus.NeedMoreData;
            }
            payloadSeen += contributes;
            if (payloadSeen == messageLength)
            {
                records.End = offset + RecordHeaderLength + contributes;
                records.MessageLength = messageLength;
                return ParseStatus.Complete;
            }
            offset += RecordHeaderLength + payloadLength;
        }
    }

    /// <summary>A record header as libssl judges it on the first flight: version major, then length, then type.</summary>
    private static ClientHelloError CheckRecordHeader(ReadOnlySpan<byte> header, bool first, out int payloadLength)
    {
        payloadLength = BinaryPrimitives.ReadUInt16BigEndian(header.Slice(3));
        if (header[1] != 3)
        {
            // The minor version is not checked on the first flight: libssl takes 3.0 to 3.255 there.
            return first ? ClientHelloError.NotTls : ClientHelloError.UnsupportedRecordVersion;
        }
        if (payloadLength > MaxRecordPayload)
        {
            return ClientHelloError.RecordTooLarge;
        }
        // Handshake messages must not be interleaved with other record types (RFC 8446 5.1).
        return header[0] == HandshakeContentType ? ClientHelloError.None : ClientHelloError.UnexpectedRecord;
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
            for (int offset = 0; written < records.MessageLength;)
            {
                int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(data.Slice(offset + 3)), records.MessageLength - written);
                data.Slice(offset + RecordHeaderLength, length).CopyTo(joined.AsSpan(written));
                written += length;
                offset += RecordHeaderLength + length;
            }
            return ParseMessage(records, joined.AsSpan(0, written), out hello);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>The hello's framing as libssl reads it (tls_process_client_hello), none of its values: those are libssl's.</summary>
    private static ClientHelloError ParseMessage(RecordSpan records, ReadOnlySpan<byte> message, out ClientHelloInfo? hello)
    {
        hello = null;
        var reader = new BigEndianReader(message.Slice(HandshakeHeaderLength));
        if (!reader.TryReadUInt16(out _) ||
            !reader.TryReadBytes(32, out _) ||
            !reader.TryReadVector8(out _) ||
            !reader.TryReadVector16(out _) ||
            !reader.TryReadVector8(out _))
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

        hello = new ClientHelloInfo
        {
            ServerName = extensions.ServerName(),
            ApplicationProtocols = extensions.ApplicationProtocols(),
            Length = records.End,
        };
        return ClientHelloError.None;
    }
}
