using System.Buffers.Binary;
using System.Text;

namespace Baton.Channel;

/// <summary>
/// Writes a TLV body: fields are tag u8 (1..63) + length u32 LE + value. A list field's value is a run of
/// items, each length u32 LE + bytes (an item may itself be a TLV record). Throws ArgumentException when the
/// destination is too small: a sender bug, not a protocol error.
/// </summary>
internal ref struct ChannelBodyWriter
{
    internal const int FieldHeaderLength = 5;
    internal const int ItemHeaderLength = 4;

    private readonly Span<byte> _destination;
    private int _written;

    public ChannelBodyWriter(Span<byte> destination)
    {
        _destination = destination;
    }

    public readonly int Written => _written;

    public void WriteField(byte tag, scoped ReadOnlySpan<byte> value)
    {
        int lengthOffset = BeginField(tag);
        Append(value);
        EndField(lengthOffset);
    }

    /// <summary>A field of <paramref name="length"/> bytes whose value the caller writes into the returned span, in place.</summary>
    public Span<byte> WriteFieldSlot(byte tag, int length)
    {
        int lengthOffset = BeginField(tag);
        Span<byte> value = Reserve(length);
        EndField(lengthOffset);
        return value;
    }

    public void WriteByte(byte tag, byte value) => WriteField(tag, [value]);

    public void WriteUInt32(byte tag, uint value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        WriteField(tag, bytes);
    }

    public void WriteString(byte tag, string value, Encoding encoding)
    {
        int lengthOffset = BeginField(tag);
        AppendString(value, encoding);
        EndField(lengthOffset);
    }

    /// <summary>Starts a field whose value is written next (items or raw bytes); returns what <see cref="EndField"/> needs.</summary>
    public int BeginField(byte tag)
    {
        if (tag is 0 or >= ChannelBodyReader.TagLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(tag), tag, "Tags are 1..63.");
        }
        Reserve(FieldHeaderLength)[0] = tag;
        return _written - sizeof(uint);
    }

    public void EndField(int lengthOffset) => PatchLength(lengthOffset);

    public void WriteItem(scoped ReadOnlySpan<byte> item)
    {
        int lengthOffset = BeginItem();
        Append(item);
        EndItem(lengthOffset);
    }

    public void WriteStringItem(string item, Encoding encoding)
    {
        int lengthOffset = BeginItem();
        AppendString(item, encoding);
        EndItem(lengthOffset);
    }

    public int BeginItem()
    {
        Reserve(ItemHeaderLength);
        return _written - sizeof(uint);
    }

    public void EndItem(int lengthOffset) => PatchLength(lengthOffset);

    private void Append(scoped ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    private void AppendString(string value, Encoding encoding)
    {
        int length = encoding.GetByteCount(value);
        encoding.GetBytes(value, Reserve(length));
    }

    private void PatchLength(int lengthOffset) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_destination[lengthOffset..], (uint)(_written - lengthOffset - sizeof(uint)));

    private Span<byte> Reserve(int length)
    {
        if (length > _destination.Length - _written)
        {
            throw new ArgumentException($"Channel body does not fit in {_destination.Length} bytes.");
        }
        Span<byte> slot = _destination.Slice(_written, length);
        _written += length;
        return slot;
    }
}
