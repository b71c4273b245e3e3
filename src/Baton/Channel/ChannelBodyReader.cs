using System.Buffers.Binary;
using System.Text;

namespace Baton.Channel;

/// <summary>
/// Reads a TLV body written by <see cref="ChannelBodyWriter"/>. Every length is checked against what is left;
/// a tag seen twice is refused here, a tag the schema does not know is refused by the caller's switch.
/// </summary>
internal ref struct ChannelBodyReader
{
    /// <summary>Tags fit a 64-bit "seen" mask.</summary>
    internal const int TagLimit = 64;

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    private ReadOnlySpan<byte> _remaining;
    private ulong _seen;

    public ChannelBodyReader(ReadOnlySpan<byte> body)
    {
        _remaining = body;
    }

    /// <summary>False at the end of the body; otherwise the next field.</summary>
    public bool TryReadField(out byte tag, out ReadOnlySpan<byte> value)
    {
        if (_remaining.IsEmpty)
        {
            tag = 0;
            value = default;
            return false;
        }
        if (_remaining.Length < ChannelBodyWriter.FieldHeaderLength)
        {
            throw new ChannelProtocolException(ChannelError.FieldHeaderTruncated);
        }
        tag = _remaining[0];
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_remaining[1..]);
        _remaining = _remaining[ChannelBodyWriter.FieldHeaderLength..];
        if (length > (uint)_remaining.Length)
        {
            throw new ChannelProtocolException(ChannelError.FieldLengthOverrun, $"tag {tag}");
        }
        if (tag is 0 or >= TagLimit)
        {
            throw UnknownField(tag);
        }
        if ((_seen & (1UL << tag)) != 0)
        {
            throw new ChannelProtocolException(ChannelError.DuplicateField, $"tag {tag}");
        }
        _seen |= 1UL << tag;
        value = _remaining[..(int)length];
        _remaining = _remaining[(int)length..];
        return true;
    }

    public readonly bool Seen(byte tag) => (_seen & (1UL << tag)) != 0;

    public readonly void Require(byte tag, string name)
    {
        if (!Seen(tag))
        {
            throw new ChannelProtocolException(ChannelError.MissingField, name);
        }
    }

    public static ChannelProtocolException UnknownField(byte tag) => new(ChannelError.UnknownField, $"tag {tag}");

    public static ChannelProtocolException Invalid(string name) => new(ChannelError.InvalidFieldValue, name);

    public static byte ReadByte(ReadOnlySpan<byte> value, string name) =>
        value.Length == 1 ? value[0] : throw Invalid(name);

    public static uint ReadUInt32(ReadOnlySpan<byte> value, string name) =>
        value.Length == sizeof(uint) ? BinaryPrimitives.ReadUInt32LittleEndian(value) : throw Invalid(name);

    /// <summary>Strict UTF-8, 1..<paramref name="maxBytes"/> bytes.</summary>
    public static string ReadString(ReadOnlySpan<byte> value, int maxBytes, string name)
    {
        CheckLength(value, 1, maxBytes, name);
        try
        {
            return StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(name);
        }
    }

    /// <summary>Opaque bytes copied into a new array (the caller owns, and may wipe, it).</summary>
    public static byte[] ReadBytes(ReadOnlySpan<byte> value, int minBytes, int maxBytes, string name)
    {
        CheckLength(value, minBytes, maxBytes, name);
        return value.ToArray();
    }

    public static void CheckLength(ReadOnlySpan<byte> value, int minBytes, int maxBytes, string name)
    {
        if (value.Length > maxBytes) throw new ChannelProtocolException(ChannelError.FieldTooLarge, name);
        if (value.Length < minBytes) throw Invalid(name);
    }
}

/// <summary>Reads the items of a list field: each is length u32 LE + bytes; at most <c>maxItems</c>.</summary>
internal ref struct ChannelListReader
{
    private ReadOnlySpan<byte> _remaining;
    private int _itemsLeft;
    private readonly string _name;

    public ChannelListReader(ReadOnlySpan<byte> value, int maxItems, string name)
    {
        _remaining = value;
        _itemsLeft = maxItems;
        _name = name;
    }

    public bool TryReadItem(out ReadOnlySpan<byte> item)
    {
        item = default;
        if (_remaining.IsEmpty)
        {
            return false;
        }
        if (_itemsLeft-- == 0)
        {
            throw new ChannelProtocolException(ChannelError.FieldTooLarge, $"{_name}: too many items");
        }
        if (_remaining.Length < ChannelBodyWriter.ItemHeaderLength)
        {
            throw new ChannelProtocolException(ChannelError.FieldHeaderTruncated, _name);
        }
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_remaining);
        _remaining = _remaining[ChannelBodyWriter.ItemHeaderLength..];
        if (length > (uint)_remaining.Length)
        {
            throw new ChannelProtocolException(ChannelError.FieldLengthOverrun, _name);
        }
        item = _remaining[..(int)length];
        _remaining = _remaining[(int)length..];
        return true;
    }
}
