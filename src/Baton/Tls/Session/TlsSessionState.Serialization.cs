using System.Buffers.Binary;

namespace Baton.Tls.Session;

/// <summary>Why a serialized state was refused.</summary>
internal enum TlsSessionStateError
{
    None,
    Truncated,
    BadMagic,
    UnsupportedFormatVersion,
    UnsupportedProtocolVersion,
    UnsupportedCipherSuite,
    SuiteNotForProtocolVersion,
    KeyLengthMismatch,
    IvLengthMismatch,
    SecretLengthMismatch,
    InvalidMaxPlaintext,
    InvalidFlags,
    TrailingBytes,
}

/// <summary>
/// Wire layout (big endian), format version 1; the whole state is exactly <see cref="EncodedLength"/> bytes:
/// <code>
///  0 u32 magic "BTLS"      4 u8 format version (1)   5 u8 flags (bit 0: KeyUpdate pending; others 0)
///  6 u16 protocol version  8 u16 cipher suite       10 u16 max plaintext per record
/// 12 u64 read sequence    20 u64 write sequence
/// 28 u8 key length  29 u8 iv length  30 u8 secret length  31 u8 reserved (0)
/// 32 read key, write key, read iv, write iv, read secret, write secret
/// </code>
/// The lengths are redundant with the suite on purpose: a reader checks them instead of trusting either.
/// </summary>
internal sealed partial class TlsSessionState
{
    public const uint Magic = 0x42544C53; // "BTLS"
    public const byte FormatVersion = 1;
    public const int HeaderLength = 32;

    /// <summary>Upper bound of <see cref="EncodedLength"/> for any supported suite (the largest is 216).</summary>
    public const int MaxEncodedLength = 512;

    private const byte FlagKeyUpdatePending = 1;

    public int EncodedLength => HeaderLength + 2 * (ReadKey.Length + ReadIv.Length + ReadSecret.Length);

    /// <summary>Serializes into destination; returns the number of bytes written (<see cref="EncodedLength"/>).</summary>
    public int Write(Span<byte> destination)
    {
        int length = EncodedLength;
        if (destination.Length < length) throw new ArgumentException("destination too small", nameof(destination));
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        destination[4] = FormatVersion;
        destination[5] = KeyUpdatePending ? FlagKeyUpdatePending : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], ProtocolVersion);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], CipherSuite);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)MaxPlaintext);
        BinaryPrimitives.WriteUInt64BigEndian(destination[12..], ReadSequence);
        BinaryPrimitives.WriteUInt64BigEndian(destination[20..], WriteSequence);
        destination[28] = (byte)ReadKey.Length;
        destination[29] = (byte)ReadIv.Length;
        destination[30] = (byte)ReadSecret.Length;
        destination[31] = 0;
        int offset = HeaderLength;
        foreach (byte[] field in new[] { ReadKey, WriteKey, ReadIv, WriteIv, ReadSecret, WriteSecret })
        {
            field.CopyTo(destination[offset..]);
            offset += field.Length;
        }
        return offset;
    }

    /// <summary>
    /// Parses a state that must span all of source. On failure state is null and error says why;
    /// nothing secret is left behind in memory we allocated.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out TlsSessionState? state, out TlsSessionStateError error)
    {
        state = null;
        error = ValidateHeader(source, out TlsCipherSuiteInfo suite);
        if (error != TlsSessionStateError.None) return false;
        int keyLength = suite.KeyLength, ivLength = suite.IvLength, secretLength = suite.TrafficSecretLength;
        int expected = HeaderLength + 2 * (keyLength + ivLength + secretLength);
        if (source.Length < expected) return Fail(TlsSessionStateError.Truncated, out error);
        if (source.Length > expected) return Fail(TlsSessionStateError.TrailingBytes, out error);

        ReadOnlySpan<byte> body = source[HeaderLength..];
        state = Create(
            suite.ProtocolVersion, suite.Id,
            readKey: body.Slice(0, keyLength), readIv: body.Slice(2 * keyLength, ivLength),
            writeKey: body.Slice(keyLength, keyLength), writeIv: body.Slice(2 * keyLength + ivLength, ivLength),
            readSecret: body.Slice(2 * (keyLength + ivLength), secretLength),
            writeSecret: body.Slice(2 * (keyLength + ivLength) + secretLength, secretLength),
            readSequence: BinaryPrimitives.ReadUInt64BigEndian(source[12..]),
            writeSequence: BinaryPrimitives.ReadUInt64BigEndian(source[20..]),
            keyUpdatePending: (source[5] & FlagKeyUpdatePending) != 0,
            maxPlaintext: BinaryPrimitives.ReadUInt16BigEndian(source[10..]));
        return true;
    }

    private static TlsSessionStateError ValidateHeader(ReadOnlySpan<byte> source, out TlsCipherSuiteInfo suite)
    {
        suite = default;
        if (source.Length < HeaderLength) return TlsSessionStateError.Truncated;
        if (BinaryPrimitives.ReadUInt32BigEndian(source) != Magic) return TlsSessionStateError.BadMagic;
        if (source[4] != FormatVersion) return TlsSessionStateError.UnsupportedFormatVersion;
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(source[6..]);
        if (version is not (TlsCipherSuiteInfo.Tls12 or TlsCipherSuiteInfo.Tls13)) return TlsSessionStateError.UnsupportedProtocolVersion;
        if (!TlsCipherSuiteInfo.TryGet(BinaryPrimitives.ReadUInt16BigEndian(source[8..]), out suite)) return TlsSessionStateError.UnsupportedCipherSuite;
        if (suite.ProtocolVersion != version) return TlsSessionStateError.SuiteNotForProtocolVersion;
        byte flags = source[5];
        if ((flags & ~FlagKeyUpdatePending) != 0 || (flags != 0 && !suite.IsTls13) || source[31] != 0) return TlsSessionStateError.InvalidFlags;
        if (!IsValidMaxPlaintext(BinaryPrimitives.ReadUInt16BigEndian(source[10..]))) return TlsSessionStateError.InvalidMaxPlaintext;
        if (source[28] != suite.KeyLength) return TlsSessionStateError.KeyLengthMismatch;
        if (source[29] != suite.IvLength) return TlsSessionStateError.IvLengthMismatch;
        if (source[30] != suite.TrafficSecretLength) return TlsSessionStateError.SecretLengthMismatch;
        return TlsSessionStateError.None;
    }

    private static bool Fail(TlsSessionStateError reason, out TlsSessionStateError error)
    {
        error = reason;
        return false;
    }
}
