using System.Formats.Asn1;

namespace Baton.Channel;

/// <summary>
/// A client's certificate chain in a Connection body: a list of DER certificates, leaf first, bounded in count and size,
/// and each one DER SEQUENCE with nothing after it, so the worker never hands its app bytes that are not a certificate.
/// </summary>
internal static class ClientCertificateChainCodec
{
    /// <summary>The leaf and nine more: what a client sends past that is not handed on.</summary>
    public const int MaxCertificates = 10;
    public const int MaxCertificateLength = 16 * 1024;

    /// <summary>The most bytes a chain may take in a body (what the front's export keeps to).</summary>
    public const int MaxChainLength = 64 * 1024;

    public static void Write(ref ChannelBodyWriter writer, byte tag, IReadOnlyList<byte[]> chain)
    {
        int lengthOffset = writer.BeginField(tag);
        foreach (byte[] certificate in chain)
            writer.WriteItem(certificate);
        writer.EndField(lengthOffset);
    }

    public static byte[][] Read(ReadOnlySpan<byte> value, string name)
    {
        var chain = new List<byte[]>();
        var items = new ChannelListReader(value, MaxCertificates, name);
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            chain.Add(ChannelBodyReader.ReadBytes(item, 1, MaxCertificateLength, name));
        return [.. chain];
    }

    public static string? Problem(IReadOnlyList<byte[]> chain)
    {
        if (chain.Count > MaxCertificates) return $"a client certificate chain holds at most {MaxCertificates} certificates";
        if (chain.Sum(c => c.Length) > MaxChainLength) return $"a client certificate chain takes at most {MaxChainLength} bytes";
        foreach (byte[] certificate in chain)
        {
            if (certificate.Length is 0 or > MaxCertificateLength) return $"a client certificate must be 1..{MaxCertificateLength} bytes of DER";
            if (!IsOneDerSequence(certificate)) return "a client certificate is not one DER SEQUENCE";
        }
        return null;
    }

    private static bool IsOneDerSequence(byte[] der)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            reader.ReadEncodedValue();
            return !reader.HasData && new AsnReader(der, AsnEncodingRules.DER).PeekTag() == Asn1Tag.Sequence;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }
}
