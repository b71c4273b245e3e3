using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Baton.Channel;

/// <summary>One certificate for a passthrough worker. SECRET: <see cref="PrivateKeyPem"/> (wipe with <see cref="Wipe"/>).</summary>
internal sealed class CertificateMaterial
{
    public const int MaxServerNames = 256;
    public const int MaxChainPemLength = 64 * 1024;
    public const int MaxPrivateKeyPemLength = 16 * 1024;

    private const byte ServerNamesTag = 1, ChainTag = 2, KeyTag = 3;

    /// <summary>Server-name patterns this certificate answers ("example.com", "*.example.com").</summary>
    public required string[] ServerNames { get; init; }

    public required byte[] CertificateChainPem { get; init; }

    public required byte[] PrivateKeyPem { get; init; }

    public void Wipe() => CryptographicOperations.ZeroMemory(PrivateKeyPem);

    /// <summary>Writes this certificate as one list item holding a nested TLV record.</summary>
    internal void WriteItem(ref ChannelBodyWriter writer)
    {
        int itemOffset = writer.BeginItem();
        int namesOffset = writer.BeginField(ServerNamesTag);
        foreach (string name in ServerNames)
        {
            writer.WriteStringItem(name, Encoding.UTF8);
        }
        writer.EndField(namesOffset);
        writer.WriteField(ChainTag, CertificateChainPem);
        writer.WriteField(KeyTag, PrivateKeyPem);
        writer.EndItem(itemOffset);
    }

    internal static CertificateMaterial ReadItem(ReadOnlySpan<byte> item) => new(item);

    /// <summary>Writes <paramref name="certificates"/> as one field of list items (Configure and Certificates bodies).</summary>
    internal static void WriteList(ref ChannelBodyWriter writer, byte tag, IReadOnlyList<CertificateMaterial> certificates)
    {
        int lengthOffset = writer.BeginField(tag);
        foreach (CertificateMaterial certificate in certificates)
            certificate.WriteItem(ref writer);
        writer.EndField(lengthOffset);
    }

    /// <summary>Reads a field written by <see cref="WriteList"/>; on a malformed item, wipes the keys read before it.</summary>
    internal static List<CertificateMaterial> ReadList(ReadOnlySpan<byte> value, int maxCount, string field)
    {
        var certificates = new List<CertificateMaterial>();
        var items = new ChannelListReader(value, maxCount, field);
        try
        {
            while (items.TryReadItem(out ReadOnlySpan<byte> item))
                certificates.Add(ReadItem(item));
        }
        catch (ChannelProtocolException)
        {
            certificates.ForEach(c => c.Wipe());
            throw;
        }
        return certificates;
    }

    public CertificateMaterial()
    {
    }

    [SetsRequiredMembers]
    private CertificateMaterial(ReadOnlySpan<byte> item)
    {
        ServerNames = [];
        CertificateChainPem = [];
        PrivateKeyPem = [];
        var reader = new ChannelBodyReader(item);
        try
        {
            while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
            {
                switch (tag)
                {
                    case ServerNamesTag: ServerNames = ReadNames(value); break;
                    case ChainTag: CertificateChainPem = ChannelBodyReader.ReadBytes(value, 1, MaxChainPemLength, nameof(CertificateChainPem)); break;
                    case KeyTag: PrivateKeyPem = ChannelBodyReader.ReadBytes(value, 1, MaxPrivateKeyPemLength, nameof(PrivateKeyPem)); break;
                    default: throw ChannelBodyReader.UnknownField(tag);
                }
            }
            reader.Require(ServerNamesTag, nameof(ServerNames));
            reader.Require(ChainTag, nameof(CertificateChainPem));
            reader.Require(KeyTag, nameof(PrivateKeyPem));
            if (Problem() is string problem)
            {
                throw ChannelBodyReader.Invalid(problem);
            }
        }
        catch (ChannelProtocolException)
        {
            Wipe();
            throw;
        }
    }

    private static string[] ReadNames(ReadOnlySpan<byte> value)
    {
        var names = new List<string>();
        var items = new ChannelListReader(value, MaxServerNames, nameof(ServerNames));
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
        {
            names.Add(ChannelBodyReader.ReadString(item, ChannelCodec.MaxNameBytes, nameof(ServerNames)));
        }
        return names.ToArray();
    }

    internal string? Problem()
    {
        if (ServerNames.Length is 0 or > MaxServerNames) return $"a certificate needs 1..{MaxServerNames} server names";
        if (ServerNames.Select(n => ChannelCodec.NameProblem(n, nameof(ServerNames))).FirstOrDefault(p => p is not null) is string nameProblem) return nameProblem;
        if (CertificateChainPem.Length is 0 or > MaxChainPemLength) return $"certificate chain must be 1..{MaxChainPemLength} bytes";
        if (PrivateKeyPem.Length is 0 or > MaxPrivateKeyPemLength) return $"private key must be 1..{MaxPrivateKeyPemLength} bytes";
        return null;
    }
}
