using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Baton.Inspection;

/// <summary>What a relay tells its backend in a PROXY v2 header: the client's addresses and the TLS facts.</summary>
internal readonly record struct ProxyV2Facts(
    IPEndPoint? Source, IPEndPoint? Destination, string? ServerName, string? ApplicationProtocol, string TlsVersion, string TlsCipher);

/// <summary>
/// Writes the PROXY protocol v2 header a TLS terminator sends its backend, as hitch's write-proxy-v2 and HAProxy's
/// send-proxy-v2-ssl do: PROXY over TCP with the client's addresses, then PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY (the SNI)
/// and PP2_TYPE_SSL (client = PP2_CLIENT_SSL, verify non-zero as no client certificate was verified, sub-TLVs
/// version and cipher by OpenSSL's names). Health probes get a LOCAL header (<see cref="WriteLocal"/>).
/// </summary>
internal static class ProxyV2Writer
{
    /// <summary>Every header written fits: fixed part, IPv6 block, two 255-byte names and the SSL TLV with short names.</summary>
    public const int MaxLength = ProxyV2Format.FixedLength + ProxyV2Format.Inet6BlockLength + 2 * (ProxyV2Format.TlvHeaderLength + 255)
        + ProxyV2Format.TlvHeaderLength + ProxyV2Format.SslFixedLength + 2 * (ProxyV2Format.TlvHeaderLength + MaxTlsNameBytes);

    /// <summary>The longest TLS version or cipher name written (OpenSSL's are under 50 bytes).</summary>
    public const int MaxTlsNameBytes = 64;

    /// <summary>Writes the header into <paramref name="destination"/> (at least <see cref="MaxLength"/> bytes); returns its length.</summary>
    public static int Write(Span<byte> destination, in ProxyV2Facts facts)
    {
        int length = WriteAddresses(destination, facts.Source, facts.Destination);
        if (facts.ApplicationProtocol is string alpn)
            length += WriteTextTlv(destination[length..], ProxyV2Format.TypeAlpn, alpn, Encoding.Latin1, 255);
        if (facts.ServerName is string serverName)
            length += WriteTextTlv(destination[length..], ProxyV2Format.TypeAuthority, serverName, Encoding.UTF8, 255);
        length += WriteSsl(destination[length..], facts.TlsVersion, facts.TlsCipher);
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], (ushort)(length - ProxyV2Format.FixedLength));
        return length;
    }

    /// <summary>A LOCAL header (no addresses, no TLVs): the relay's own health probe, which the backend should not log as a client.</summary>
    public static int WriteLocal(Span<byte> destination)
    {
        ProxyV2Format.Signature.CopyTo(destination);
        destination[12] = ProxyV2Format.VersionLocal;
        destination[13] = ProxyV2Format.FamilyUnspecified;
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], 0);
        return ProxyV2Format.FixedLength;
    }

    /// <summary>
    /// The fixed part and the address block. Both ends in one family: IPv4 when both are (or map to) IPv4, else IPv6
    /// with IPv4 addresses mapped; without the addresses, AF_UNSPEC (the receiver then uses the connection's own).
    /// </summary>
    private static int WriteAddresses(Span<byte> destination, IPEndPoint? source, IPEndPoint? target)
    {
        ProxyV2Format.Signature.CopyTo(destination);
        destination[12] = ProxyV2Format.VersionProxy;
        if (source is null || target is null)
        {
            destination[13] = ProxyV2Format.FamilyUnspecified;
            return ProxyV2Format.FixedLength;
        }
        IPAddress from = Unmapped(source.Address), to = Unmapped(target.Address);
        bool v4 = from.AddressFamily == AddressFamily.InterNetwork && to.AddressFamily == AddressFamily.InterNetwork;
        if (!v4)
        {
            from = from.MapToIPv6();
            to = to.MapToIPv6();
        }
        destination[13] = v4 ? ProxyV2Format.FamilyTcp4 : ProxyV2Format.FamilyTcp6;
        int size = v4 ? 4 : 16;
        Span<byte> block = destination[ProxyV2Format.FixedLength..];
        from.TryWriteBytes(block, out _);
        to.TryWriteBytes(block[size..], out _);
        BinaryPrimitives.WriteUInt16BigEndian(block[(2 * size)..], (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(block[(2 * size + 2)..], (ushort)target.Port);
        return ProxyV2Format.FixedLength + (v4 ? ProxyV2Format.InetBlockLength : ProxyV2Format.Inet6BlockLength);
    }

    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static int WriteSsl(Span<byte> destination, string version, string cipher)
    {
        int versionLength = Encoding.ASCII.GetByteCount(version), cipherLength = Encoding.ASCII.GetByteCount(cipher);
        int valueLength = ProxyV2Format.SslFixedLength + 2 * ProxyV2Format.TlvHeaderLength + versionLength + cipherLength;
        Span<byte> value = ProxyV2Format.WriteTlvHeader(destination, ProxyV2Format.TypeSsl, valueLength);
        value[0] = ProxyV2Format.ClientSsl;
        // verify: "zero if the client presented a certificate and it was successfully verified"; no client certificate here.
        BinaryPrimitives.WriteUInt32BigEndian(value[1..], 1);
        int written = ProxyV2Format.SslFixedLength;
        written += WriteTextTlv(value[written..], ProxyV2Format.SubtypeSslVersion, version, Encoding.ASCII, MaxTlsNameBytes);
        written += WriteTextTlv(value[written..], ProxyV2Format.SubtypeSslCipher, cipher, Encoding.ASCII, MaxTlsNameBytes);
        return ProxyV2Format.TlvHeaderLength + written;
    }

    private static int WriteTextTlv(Span<byte> destination, byte type, string text, Encoding encoding, int maxBytes)
    {
        int length = encoding.GetByteCount(text);
        if (length > maxBytes)
            throw new ArgumentException($"PROXY v2 TLV {type:x2}: '{text}' is longer than {maxBytes} bytes", nameof(text));
        encoding.GetBytes(text, ProxyV2Format.WriteTlvHeader(destination, type, length));
        return ProxyV2Format.TlvHeaderLength + length;
    }
}
