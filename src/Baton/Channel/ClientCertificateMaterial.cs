using System.Diagnostics.CodeAnalysis;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// One client-certificate setting as a passthrough worker needs it to verify the way the front would: the mode, the
/// verify depth, the trusted CAs and the CRLs, as PEM (nothing secret). The front reads and checks the files; the worker
/// only parses the bytes. Listed in <see cref="WorkerSettings"/>, numbered from 1 in list order.
/// </summary>
internal sealed class ClientCertificateMaterial
{
    public const int MaxCaPemLength = 64 * 1024;
    public const int MaxCrlPemLength = 64 * 1024;

    private const byte ModeTag = 1, DepthTag = 2, CaTag = 3, CrlTag = 4;

    public required ClientCertificateMode Mode { get; init; }

    public required int VerifyDepth { get; init; }

    /// <summary>Every trusted CA file's PEM, concatenated.</summary>
    public required byte[] TrustedCaPem { get; init; }

    /// <summary>The CRL file's PEM; empty when revocation is not checked.</summary>
    public byte[] CrlPem { get; init; } = [];

    /// <summary>Bytes <see cref="WriteItem"/> takes: the list item and four field headers, the byte fields and the PEM.</summary>
    internal int EncodedLength => ChannelBodyWriter.ItemHeaderLength + 4 * ChannelBodyWriter.FieldHeaderLength + 2 + TrustedCaPem.Length + CrlPem.Length;

    internal void WriteItem(ref ChannelBodyWriter writer)
    {
        int itemOffset = writer.BeginItem();
        writer.WriteByte(ModeTag, (byte)Mode);
        writer.WriteByte(DepthTag, (byte)VerifyDepth);
        writer.WriteField(CaTag, TrustedCaPem);
        if (CrlPem.Length > 0) writer.WriteField(CrlTag, CrlPem);
        writer.EndItem(itemOffset);
    }

    internal static ClientCertificateMaterial ReadItem(ReadOnlySpan<byte> item) => new(item);

    public ClientCertificateMaterial()
    {
    }

    [SetsRequiredMembers]
    private ClientCertificateMaterial(ReadOnlySpan<byte> item)
    {
        TrustedCaPem = [];
        var reader = new ChannelBodyReader(item);
        while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
        {
            switch (tag)
            {
                case ModeTag: Mode = (ClientCertificateMode)ChannelBodyReader.ReadByte(value, nameof(Mode)); break;
                case DepthTag: VerifyDepth = ChannelBodyReader.ReadByte(value, nameof(VerifyDepth)); break;
                case CaTag: TrustedCaPem = ChannelBodyReader.ReadBytes(value, 1, MaxCaPemLength, nameof(TrustedCaPem)); break;
                case CrlTag: CrlPem = ChannelBodyReader.ReadBytes(value, 1, MaxCrlPemLength, nameof(CrlPem)); break;
                default: throw ChannelBodyReader.UnknownField(tag);
            }
        }
        reader.Require(ModeTag, nameof(Mode));
        reader.Require(DepthTag, nameof(VerifyDepth));
        reader.Require(CaTag, nameof(TrustedCaPem));
        if (Problem() is string problem)
            throw ChannelBodyReader.Invalid(problem);
    }

    internal string? Problem()
    {
        if (Mode is not (ClientCertificateMode.Optional or ClientCertificateMode.Required)) return $"client certificate mode {Mode} is not optional or required";
        if (VerifyDepth is < 1 or > ClientCertificateOptions.MaxVerifyDepth) return $"verify depth must be 1..{ClientCertificateOptions.MaxVerifyDepth}";
        if (TrustedCaPem.Length is 0 or > MaxCaPemLength) return $"trusted CAs must be 1..{MaxCaPemLength} bytes of PEM";
        if (CrlPem.Length > MaxCrlPemLength) return $"CRLs must be at most {MaxCrlPemLength} bytes of PEM";
        return null;
    }
}
