using System.Security.Cryptography;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The TicketKeys body (front → passthrough worker): the front's whole current ticket-key ring, n × 80 bytes in
/// key-file layout, the encrypting key first. The worker replaces its ring with it, so every worker of every pool
/// encrypts with the front's current key and decrypts with every key the front still accepts. SECRET: wipe the
/// bytes (<see cref="Wipe"/>) once the ring has them.
/// </summary>
internal sealed class TicketKeysUpdate
{
    public const int MaxLength = SessionTicketOptions.MaxKeys * SessionTicketOptions.KeyEntryLength;

    private const byte KeysTag = 1;

    public TicketKeysUpdate(byte[] keys)
    {
        if (Problem(keys.Length) is string problem) throw new ArgumentException(problem, nameof(keys));
        Keys = keys;
    }

    public byte[] Keys { get; }

    /// <summary>The body's length for <paramref name="keyBytes"/> bytes of keys: one field header plus the keys.</summary>
    public static int EncodedLength(int keyBytes) => ChannelBodyWriter.FieldHeaderLength + keyBytes;

    public int WriteTo(Span<byte> destination)
    {
        var writer = new ChannelBodyWriter(destination);
        writer.WriteField(KeysTag, Keys);
        return writer.Written;
    }

    /// <summary>Strict: exactly one field, whole 80-byte keys, 1 to 64 of them. A refused body leaves no copy of its keys.</summary>
    public static TicketKeysUpdate ReadFrom(ReadOnlySpan<byte> body)
    {
        var reader = new ChannelBodyReader(body);
        byte[]? keys = null;
        try
        {
            while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
            {
                if (tag != KeysTag) throw ChannelBodyReader.UnknownField(tag);
                keys = ChannelBodyReader.ReadBytes(value, 1, MaxLength, nameof(Keys));
            }
            reader.Require(KeysTag, nameof(Keys));
            if (Problem(keys!.Length) is string problem) throw ChannelBodyReader.Invalid(problem);
            return new TicketKeysUpdate(keys);
        }
        catch (ChannelProtocolException)
        {
            if (keys is not null) CryptographicOperations.ZeroMemory(keys);
            throw;
        }
    }

    public void Wipe() => CryptographicOperations.ZeroMemory(Keys);

    private static string? Problem(int length) =>
        length is 0 or > MaxLength || length % SessionTicketOptions.KeyEntryLength != 0
            ? $"{nameof(Keys)} must be 1..{SessionTicketOptions.MaxKeys} keys of {SessionTicketOptions.KeyEntryLength} bytes"
            : null;
}
