using System.Buffers.Binary;

namespace Baton.Inspection;

/// <summary>
/// Bounds-checked big-endian cursor over a span. Every read either succeeds or returns false and
/// leaves the position unchanged, so parsers turn any overrun into an error code instead of an exception.
/// </summary>
internal ref struct BigEndianReader
{
    private ReadOnlySpan<byte> _rest;

    public BigEndianReader(ReadOnlySpan<byte> data) => _rest = data;

    public readonly bool IsEmpty => _rest.IsEmpty;

    public readonly int Remaining => _rest.Length;

    public bool TryReadByte(out byte value)
    {
        if (_rest.IsEmpty)
        {
            value = 0;
            return false;
        }
        value = _rest[0];
        _rest = _rest.Slice(1);
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (!BinaryPrimitives.TryReadUInt16BigEndian(_rest, out value))
        {
            return false;
        }
        _rest = _rest.Slice(2);
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> value)
    {
        if ((uint)count > (uint)_rest.Length)
        {
            value = default;
            return false;
        }
        value = _rest.Slice(0, count);
        _rest = _rest.Slice(count);
        return true;
    }

    /// <summary>Reads a TLS vector with a one-byte length prefix.</summary>
    public bool TryReadVector8(out ReadOnlySpan<byte> value)
    {
        BigEndianReader saved = this;
        if (TryReadByte(out byte length) && TryReadBytes(length, out value))
        {
            return true;
        }
        this = saved;
        value = default;
        return false;
    }

    /// <summary>Reads a TLS vector with a two-byte length prefix.</summary>
    public bool TryReadVector16(out ReadOnlySpan<byte> value)
    {
        BigEndianReader saved = this;
        if (TryReadUInt16(out ushort length) && TryReadBytes(length, out value))
        {
            return true;
        }
        this = saved;
        value = default;
        return false;
    }
}
