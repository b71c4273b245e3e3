using System.Buffers.Binary;

namespace Baton.Inspection;

/// <summary>
/// The PROXY protocol v2 wire format (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2),
/// the one owner of its numbers: <see cref="ProxyProtocolParser"/> reads headers with them and
/// <see cref="ProxyV2Writer"/> writes them.
/// </summary>
internal static class ProxyV2Format
{
    public const int FixedLength = 16;
    public const int InetBlockLength = 12;
    public const int Inet6BlockLength = 36;
    public const int UnixBlockLength = 216;

    /// <summary>Version 2 in the high nibble, the command in the low one.</summary>
    public const byte VersionLocal = 0x20, VersionProxy = 0x21;

    /// <summary>Address family (high nibble) and transport (low nibble): TCP over IPv4 / IPv6, or unspecified.</summary>
    public const byte FamilyUnspecified = 0x00, FamilyTcp4 = 0x11, FamilyTcp6 = 0x21;

    /// <summary>TLV types (section 2.2.1–2.2.6).</summary>
    public const byte TypeAlpn = 0x01, TypeAuthority = 0x02, TypeSsl = 0x20, SubtypeSslVersion = 0x21, SubtypeSslCipher = 0x23;

    /// <summary>PP2_TYPE_SSL's client field: PP2_CLIENT_SSL, the connection was made over TLS.</summary>
    public const byte ClientSsl = 0x01;

    /// <summary>PP2_TYPE_SSL's fixed part: client (1) and verify (4) before its sub-TLVs.</summary>
    public const int SslFixedLength = 5;

    /// <summary>A TLV's type (1) and length (2, big-endian).</summary>
    public const int TlvHeaderLength = 3;

    public static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>
    /// The value of the first TLV of <paramref name="type"/> in <paramref name="tlvs"/> (a header's TLV block, or the
    /// sub-TLVs of PP2_TYPE_SSL); false when there is none or the framing is broken.
    /// </summary>
    public static bool TryFindTlv(ReadOnlySpan<byte> tlvs, byte type, out ReadOnlySpan<byte> value)
    {
        var reader = new BigEndianReader(tlvs);
        while (reader.TryReadByte(out byte found) && reader.TryReadVector16(out ReadOnlySpan<byte> content))
        {
            if (found == type)
            {
                value = content;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>Writes a TLV header and returns the span for its value.</summary>
    internal static Span<byte> WriteTlvHeader(Span<byte> destination, byte type, int length)
    {
        destination[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], checked((ushort)length));
        return destination.Slice(TlvHeaderLength, length);
    }
}
