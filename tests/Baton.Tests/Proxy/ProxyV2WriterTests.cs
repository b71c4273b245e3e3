using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Baton.Tests.Proxy;

/// <summary>The PROXY v2 header the relay sends, read back through the front's own parser (one owner of the format).</summary>
public sealed class ProxyV2WriterTests
{
    private static readonly ProxyV2Facts Facts = new(
        IPEndPoint.Parse("192.0.2.1:50000"), IPEndPoint.Parse("198.51.100.7:443"), "www.example.com", "h2", "TLSv1.3", "TLS_AES_128_GCM_SHA256");

    private static (byte[] Bytes, ProxyHeader Header) RoundTrip(in ProxyV2Facts facts)
    {
        byte[] buffer = new byte[ProxyV2Writer.MaxLength + 10];
        int length = ProxyV2Writer.Write(buffer, facts);
        // Bytes after the header (the relayed stream) are not the parser's.
        ParseStatus status = ProxyProtocolParser.Parse(buffer.AsSpan(0, length + 10), out ProxyHeader? header, out ProxyHeaderError error);
        Assert.Equal((ParseStatus.Complete, ProxyHeaderError.None), (status, error));
        Assert.Equal(length, header!.Length);
        return (buffer[..length], header);
    }

    private static string Tlv(byte[] header, int offset, byte type) =>
        ProxyV2Format.TryFindTlv(header.AsSpan(offset), type, out ReadOnlySpan<byte> value) ? Encoding.Latin1.GetString(value)
            : throw new Xunit.Sdk.XunitException($"no TLV {type:x2}");

    [Fact]
    public void AddressesAndTlsFactsRoundTrip()
    {
        (byte[] bytes, ProxyHeader header) = RoundTrip(Facts);
        Assert.Equal((2, false), (header.Version, header.IsLocal));
        Assert.Equal(Facts.Source, header.Source);
        Assert.Equal(Facts.Destination, header.Destination);
        Assert.Equal(ProxyV2Format.FixedLength + ProxyV2Format.InetBlockLength, header.TlvOffset);
        Assert.Equal("h2", Tlv(bytes, header.TlvOffset, ProxyV2Format.TypeAlpn));
        Assert.Equal("www.example.com", Tlv(bytes, header.TlvOffset, ProxyV2Format.TypeAuthority));

        Assert.True(ProxyV2Format.TryFindTlv(bytes.AsSpan(header.TlvOffset), ProxyV2Format.TypeSsl, out ReadOnlySpan<byte> ssl));
        Assert.Equal(ProxyV2Format.ClientSsl, ssl[0]);
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32BigEndian(ssl[1..]));
        byte[] sub = ssl[ProxyV2Format.SslFixedLength..].ToArray();
        Assert.Equal("TLSv1.3", Tlv(sub, 0, ProxyV2Format.SubtypeSslVersion));
        Assert.Equal("TLS_AES_128_GCM_SHA256", Tlv(sub, 0, ProxyV2Format.SubtypeSslCipher));
    }

    [Fact]
    public void TheWireBytesAreTheSpecsForTcp4()
    {
        (byte[] bytes, _) = RoundTrip(Facts with { ServerName = null, ApplicationProtocol = null });
        Assert.Equal(ProxyV2Format.Signature.ToArray(), bytes[..12]);
        Assert.Equal(new byte[] { 0x21, 0x11 }, bytes[12..14]);
        Assert.Equal(bytes.Length - 16, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(14)));
        Assert.Equal(new byte[] { 192, 0, 2, 1, 198, 51, 100, 7, 0xC3, 0x50, 0x01, 0xBB }, bytes[16..28]);
        Assert.Equal(ProxyV2Format.TypeSsl, bytes[28]);
    }

    [Fact]
    public void MixedFamiliesAreSentAsIPv6WithMappedAddresses()
    {
        var facts = Facts with { Destination = IPEndPoint.Parse("[2001:db8::7]:443") };
        (_, ProxyHeader header) = RoundTrip(facts);
        Assert.Equal(IPEndPoint.Parse("[::ffff:192.0.2.1]:50000"), header.Source);
        Assert.Equal(facts.Destination, header.Destination);
    }

    [Fact]
    public void MappedIPv4AddressesAreSentAsIPv4()
    {
        var facts = Facts with { Source = IPEndPoint.Parse("[::ffff:192.0.2.1]:50000"), Destination = IPEndPoint.Parse("[::ffff:198.51.100.7]:443") };
        (byte[] bytes, ProxyHeader header) = RoundTrip(facts);
        Assert.Equal(ProxyV2Format.FamilyTcp4, bytes[13]);
        Assert.Equal(Facts.Source, header.Source);
    }

    [Fact]
    public void WithoutAddressesTheFamilyIsUnspecified()
    {
        (byte[] bytes, ProxyHeader header) = RoundTrip(Facts with { Source = null });
        Assert.Equal(ProxyV2Format.FamilyUnspecified, bytes[13]);
        Assert.Null(header.Source);
    }

    [Fact]
    public void TheLocalHeaderParsesAsLocal()
    {
        byte[] buffer = new byte[ProxyV2Format.FixedLength];
        Assert.Equal(ProxyV2Format.FixedLength, ProxyV2Writer.WriteLocal(buffer));
        Assert.Equal(ParseStatus.Complete, ProxyProtocolParser.Parse(buffer, out ProxyHeader? header, out _));
        Assert.True(header!.IsLocal);
    }

    [Fact]
    public void TheLongestFactsFitMaxLength()
    {
        var facts = Facts with
        {
            Source = IPEndPoint.Parse("[2001:db8::1]:1"), ServerName = new string('a', 255), ApplicationProtocol = new string('b', 255),
            TlsVersion = new string('v', ProxyV2Writer.MaxTlsNameBytes), TlsCipher = new string('c', ProxyV2Writer.MaxTlsNameBytes),
        };
        byte[] exact = new byte[ProxyV2Writer.MaxLength];
        Assert.Equal(ProxyV2Writer.MaxLength, ProxyV2Writer.Write(exact, facts));
        Assert.True(ProxyV2Writer.MaxLength <= ProxyProtocolParser.DefaultMaxV2Bytes);
        Assert.Equal(ParseStatus.Complete, ProxyProtocolParser.Parse(exact, out _, out _));
    }

    [Fact]
    public void AnOversizedNameIsRefusedNotTruncated()
    {
        byte[] buffer = new byte[ProxyV2Writer.MaxLength];
        Assert.Throws<ArgumentException>(() => ProxyV2Writer.Write(buffer, Facts with { ServerName = new string('a', 256) }));
    }

    [Fact]
    public void BrokenTlvFramingIsNotFound()
    {
        Assert.False(ProxyV2Format.TryFindTlv([ProxyV2Format.TypeAlpn, 0, 5, (byte)'h'], ProxyV2Format.TypeAlpn, out _));
        Assert.False(ProxyV2Format.TryFindTlv([ProxyV2Format.TypeAlpn], ProxyV2Format.TypeAlpn, out _));
    }
}
