using System.Buffers.Binary;

namespace Baton.Channel;

/// <summary>
/// The fixed 24-byte little-endian header in front of every channel message:
/// magic u32 "BATN" | version u16 | type u16 | connection id u64 | body length u32 | reserved u32 (0).
/// </summary>
internal static class ChannelHeader
{
    public const int Length = 24;

    /// <summary>The bytes 'B','A','T','N' read as a little-endian u32.</summary>
    public const uint Magic = 0x4E544142;

    /// <summary>
    /// Raised whenever a version's peer would break on the new messages, so that it refuses the front's Configure at
    /// start instead (BadVersion), which names the problem: 2 added Ping/Pong, 3 added Certificates, TicketKeys,
    /// Handback and HandbackAck (and Configure fields an older worker would refuse one by one), 4 added Drain, 5 Routes.
    /// </summary>
    public const ushort Version = 5;

    /// <summary>Largest body: room for 64 KiB of initial data, 4 KiB of TLS state and a Configure with certificates.</summary>
    public const int MaxBodyLength = 256 * 1024;

    public const int MaxMessageLength = Length + MaxBodyLength;

    public static void Write(Span<byte> destination, MessageType type, ulong connectionId, int bodyLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], connectionId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], (uint)bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], 0);
    }

    /// <summary>Checks a received header; <paramref name="receivedBodyLength"/> is what recvmsg delivered after the header.</summary>
    public static ChannelError Validate(ReadOnlySpan<byte> header, ChannelRole receiver, int receivedBodyLength, bool truncated)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic) return ChannelError.BadMagic;
        if (BinaryPrimitives.ReadUInt16LittleEndian(header[4..]) != Version) return ChannelError.BadVersion;
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[20..]) != 0) return ChannelError.ReservedNotZero;
        var type = ReadType(header);
        if (!MessageTypeRules.IsKnown(type)) return ChannelError.UnknownType;
        if (!MessageTypeRules.MayReceive(receiver, type)) return ChannelError.WrongDirection;
        uint bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        if (bodyLength > MaxBodyLength) return ChannelError.BodyTooLarge;
        // Checked after the header fields so that an oversized but well-formed message reports BodyTooLarge.
        if (truncated) return ChannelError.MessageTruncated;
        if (bodyLength != (uint)receivedBodyLength) return ChannelError.BodyLengthMismatch;
        if ((bodyLength == 0) == MessageTypeRules.HasBody(type)) return bodyLength == 0 ? ChannelError.MissingBody : ChannelError.UnexpectedBody;
        if ((ReadConnectionId(header) != 0) != MessageTypeRules.HasConnectionId(type)) return ChannelError.BadConnectionId;
        return ChannelError.None;
    }

    public static MessageType ReadType(ReadOnlySpan<byte> header) =>
        (MessageType)BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);

    public static ulong ReadConnectionId(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
}
