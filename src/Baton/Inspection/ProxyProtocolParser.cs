using System.Buffers.Binary;
using System.Net;

namespace Baton.Inspection;

/// <summary>
/// Parses a PROXY protocol v1 (text) or v2 (binary) header at the start of a connection
/// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt). Stateless and resumable: call again
/// with the whole, longer buffer after <see cref="ParseStatus.NeedMoreData"/>. Strict, because the
/// addresses it yields are trusted for logging and access decisions; bytes after the header are not read.
/// </summary>
internal static class ProxyProtocolParser
{
    /// <summary>Default bound on a whole v2 header (16-byte fixed part, addresses and TLVs).</summary>
    public const int DefaultMaxV2Bytes = 1536;

    /// <summary>Longest legal v1 line, CRLF included.</summary>
    public const int MaxV1Bytes = 107;

    private const int V2FixedLength = ProxyV2Format.FixedLength;

    private static ReadOnlySpan<byte> V1Signature => "PROXY "u8;

    private static ReadOnlySpan<byte> V2Signature => ProxyV2Format.Signature;

    /// <summary>
    /// True while the bytes seen so far are a prefix of (or start with) a v1 or v2 signature; false means
    /// the connection certainly does not start with a PROXY header. An empty span could still be one.
    /// </summary>
    public static bool CouldBeProxyHeader(ReadOnlySpan<byte> start) =>
        MatchesPrefix(start, V1Signature) || MatchesPrefix(start, V2Signature);

    /// <param name="maxV2Bytes">Largest accepted v2 header; v1 is always bounded by <see cref="MaxV1Bytes"/>.</param>
    public static ParseStatus Parse(
        ReadOnlySpan<byte> data, out ProxyHeader? header, out ProxyHeaderError error, int maxV2Bytes = DefaultMaxV2Bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxV2Bytes, V2FixedLength);
        header = null;
        if (data.IsEmpty)
        {
            error = ProxyHeaderError.None;
            return ParseStatus.NeedMoreData;
        }
        if (data[0] == V1Signature[0])
        {
            error = MatchesPrefix(data, V1Signature) ? ParseV1(data, out header) : ProxyHeaderError.BadSignature;
        }
        else if (data[0] == V2Signature[0])
        {
            error = MatchesPrefix(data, V2Signature) ? ParseV2(data, maxV2Bytes, out header) : ProxyHeaderError.BadSignature;
        }
        else
        {
            error = ProxyHeaderError.NotProxyProtocol;
        }
        return error != ProxyHeaderError.None ? ParseStatus.Invalid
            : header is null ? ParseStatus.NeedMoreData
            : ParseStatus.Complete;
    }

    private static bool MatchesPrefix(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        int length = Math.Min(data.Length, signature.Length);
        return data.Slice(0, length).SequenceEqual(signature.Slice(0, length));
    }

    /// <summary>Returns None with a null header while the line is an incomplete but valid prefix.</summary>
    private static ProxyHeaderError ParseV1(ReadOnlySpan<byte> data, out ProxyHeader? header)
    {
        header = null;
        ReadOnlySpan<byte> window = data.Slice(0, Math.Min(data.Length, MaxV1Bytes));
        int end = window.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
        if (end < 0)
        {
            return window.Length == MaxV1Bytes ? ProxyHeaderError.TooLong : ProxyHeaderError.None;
        }
        if (window[end] != '\r')
        {
            return ProxyHeaderError.Malformed; // bare LF, controls and non-ASCII are never legal in the line
        }
        if (end + 2 > MaxV1Bytes)
        {
            return ProxyHeaderError.TooLong;
        }
        if (end + 1 == data.Length)
        {
            return ProxyHeaderError.None;
        }
        if (data[end + 1] != '\n')
        {
            return ProxyHeaderError.Malformed;
        }
        return ProxyV1Line.Parse(data.Slice(V1Signature.Length, end - V1Signature.Length), end + 2, out header);
    }

    private static ProxyHeaderError ParseV2(ReadOnlySpan<byte> data, int maxBytes, out ProxyHeader? header)
    {
        header = null;
        ProxyHeaderError error = CheckV2Fixed(data, maxBytes);
        if (error != ProxyHeaderError.None || data.Length < V2FixedLength)
        {
            return error;
        }
        int total = V2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(data.Slice(14));
        if (data.Length < total)
        {
            return ProxyHeaderError.None;
        }
        if ((data[12] & 0x0F) == 0)
        {
            // LOCAL: the spec says to ignore the family and the whole address block.
            header = new ProxyHeader { Version = 2, IsLocal = true, Length = total };
            return ProxyHeaderError.None;
        }
        return ParseV2Addresses(data[13] >> 4, data.Slice(V2FixedLength, total - V2FixedLength), total, out header);
    }

    /// <summary>Checks whichever of version/command, family and length bytes are already present.</summary>
    private static ProxyHeaderError CheckV2Fixed(ReadOnlySpan<byte> data, int maxBytes)
    {
        if (data.Length > 12)
        {
            if ((data[12] >> 4) != 2)
            {
                return ProxyHeaderError.BadVersion;
            }
            if ((data[12] & 0x0F) > 1)
            {
                return ProxyHeaderError.BadCommand;
            }
        }
        bool isProxy = data.Length > 12 && (data[12] & 0x0F) == 1;
        if (isProxy && data.Length > 13 && ((data[13] >> 4) > 3 || (data[13] & 0x0F) > 2))
        {
            return ProxyHeaderError.BadFamily;
        }
        if (data.Length >= V2FixedLength && V2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(data.Slice(14)) > maxBytes)
        {
            return ProxyHeaderError.TooLong;
        }
        return ProxyHeaderError.None;
    }

    private static ProxyHeaderError ParseV2Addresses(int family, ReadOnlySpan<byte> block, int total, out ProxyHeader? header)
    {
        header = null;
        if (family == 0)
        {
            // AF_UNSPEC: the spec says to ignore the block, so its content is not interpreted.
            header = new ProxyHeader { Version = 2, Length = total };
            return ProxyHeaderError.None;
        }
        int addressLength = family switch { 1 => ProxyV2Format.InetBlockLength, 2 => ProxyV2Format.Inet6BlockLength, _ => ProxyV2Format.UnixBlockLength };
        if (block.Length < addressLength || !TlvsAreWellFormed(block.Slice(addressLength)))
        {
            return ProxyHeaderError.Truncated;
        }
        IPEndPoint? source = null, destination = null;
        if (family != 3)
        {
            int size = addressLength / 2 - 2;
            source = new IPEndPoint(new IPAddress(block.Slice(0, size)), BinaryPrimitives.ReadUInt16BigEndian(block.Slice(2 * size)));
            destination = new IPEndPoint(new IPAddress(block.Slice(size, size)), BinaryPrimitives.ReadUInt16BigEndian(block.Slice(2 * size + 2)));
        }
        header = new ProxyHeader { Version = 2, Source = source, Destination = destination, Length = total, TlvOffset = V2FixedLength + addressLength };
        return ProxyHeaderError.None;
    }

    /// <summary>TLVs are skipped, but their framing must exactly fill the rest of the header.</summary>
    private static bool TlvsAreWellFormed(ReadOnlySpan<byte> tlvs)
    {
        var reader = new BigEndianReader(tlvs);
        while (!reader.IsEmpty)
        {
            if (!reader.TryReadByte(out _) || !reader.TryReadVector16(out _))
            {
                return false;
            }
        }
        return true;
    }
}
