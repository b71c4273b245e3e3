using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Builds the <c>struct tls12_crypto_info_*</c> that TLS_TX / TLS_RX take (linux/tls.h), for one direction.
/// A pure function over bytes so that the layout can be checked without a kernel that offers TLS.
/// </summary>
/// <remarks>
/// Layouts (no padding: two u16 then byte arrays):
/// <code>
/// aes_gcm_128:        u16 version, u16 cipher_type, iv[8],  key[16], salt[4], rec_seq[8]   = 40 bytes
/// aes_gcm_256:        u16 version, u16 cipher_type, iv[8],  key[32], salt[4], rec_seq[8]   = 56 bytes
/// chacha20_poly1305:  u16 version, u16 cipher_type, iv[12], key[32],          rec_seq[8]   = 56 bytes
/// </code>
/// The kernel builds its nonce as salt ‖ iv. TLS 1.3 AES-GCM: the 12-byte IV is split, salt = IV[0..4],
/// iv = IV[4..12], and the kernel XORs the sequence number in. TLS 1.2 AES-GCM: salt = the 4-byte implicit IV and
/// iv = the explicit nonce of the next record, which Baton (like OpenSSL) keeps equal to the sequence number; the
/// kernel increments it with rec_seq. ChaCha20-Poly1305 (both versions): iv = the whole 12-byte IV.
/// version and cipher_type are host-endian; rec_seq and the explicit nonce are big-endian, as on the wire.
/// </remarks>
internal static class KernelTlsCryptoInfo
{
    internal const ushort CipherAesGcm128 = 51;
    internal const ushort CipherAesGcm256 = 52;
    internal const ushort CipherChaCha20Poly1305 = 54;
    internal const int Aes128GcmSize = 40;
    internal const int Aes256GcmSize = 56;
    internal const int ChaCha20Poly1305Size = 56;
    internal const int MaxSize = 56;

    private const int HeaderSize = 4;
    private const int GcmIvSize = 8;
    private const int GcmSaltSize = 4;
    private const int SequenceSize = 8;

    /// <summary>The kernel's cipher_type for an AEAD, or 0 when the kernel has none for it.</summary>
    public static ushort CipherType(TlsAead aead) => aead switch
    {
        TlsAead.Aes128Gcm => CipherAesGcm128,
        TlsAead.Aes256Gcm => CipherAesGcm256,
        TlsAead.ChaCha20Poly1305 => CipherChaCha20Poly1305,
        _ => 0,
    };

    public static int SizeOf(TlsAead aead) => aead switch
    {
        TlsAead.Aes128Gcm => Aes128GcmSize,
        TlsAead.Aes256Gcm => Aes256GcmSize,
        _ => ChaCha20Poly1305Size,
    };

    /// <summary>
    /// Writes the crypto_info for one direction of <paramref name="suite"/> into <paramref name="destination"/>
    /// and returns its length. <paramref name="iv"/> is the state's IV for that direction: 4 bytes (TLS 1.2
    /// AES-GCM implicit part) or 12. The caller wipes the destination after the setsockopt.
    /// </summary>
    public static int Write(in TlsCipherSuiteInfo suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ulong sequence, Span<byte> destination)
    {
        ushort cipher = CipherType(suite.Aead);
        if (cipher == 0) throw new ArgumentOutOfRangeException(nameof(suite), $"no kernel cipher for {suite.Aead}");
        if (key.Length != suite.KeyLength) throw new ArgumentException($"key must be {suite.KeyLength} bytes", nameof(key));
        if (iv.Length != suite.IvLength) throw new ArgumentException($"iv must be {suite.IvLength} bytes", nameof(iv));
        int size = SizeOf(suite.Aead);
        Span<byte> info = destination[..size];
        info.Clear();
        ushort version = suite.ProtocolVersion;
        MemoryMarshal.Write(info, in version);
        MemoryMarshal.Write(info[2..], in cipher);
        Span<byte> body = info[HeaderSize..];
        if (suite.Aead == TlsAead.ChaCha20Poly1305)
        {
            iv.CopyTo(body);
            key.CopyTo(body[TlsCipherSuiteInfo.NonceLength..]);
            BinaryPrimitives.WriteUInt64BigEndian(body[(TlsCipherSuiteInfo.NonceLength + key.Length)..], sequence);
            return size;
        }
        Span<byte> explicitIv = body[..GcmIvSize];
        Span<byte> salt = body.Slice(GcmIvSize + key.Length, GcmSaltSize);
        if (suite.IsTls13)
        {
            iv[..GcmSaltSize].CopyTo(salt);
            iv[GcmSaltSize..].CopyTo(explicitIv);
        }
        else
        {
            iv.CopyTo(salt);
            BinaryPrimitives.WriteUInt64BigEndian(explicitIv, sequence);
        }
        key.CopyTo(body[GcmIvSize..]);
        BinaryPrimitives.WriteUInt64BigEndian(body.Slice(GcmIvSize + key.Length + GcmSaltSize, SequenceSize), sequence);
        return size;
    }
}
