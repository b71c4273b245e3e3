using System.Security.Cryptography;

namespace Baton.Tls.Session;

/// <summary>The AEAD algorithms the record layer implements.</summary>
internal enum TlsAead : byte
{
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

/// <summary>
/// What the record layer needs to know about a negotiated cipher suite. Only AEAD suites exist here:
/// the front refuses to hand off anything else.
/// </summary>
internal readonly struct TlsCipherSuiteInfo
{
    internal const ushort Tls12 = 0x0303;
    internal const ushort Tls13 = 0x0304;
    internal const int TagLength = 16;
    internal const int NonceLength = 12;

    private TlsCipherSuiteInfo(ushort id, ushort version, TlsAead aead, bool sha384)
    {
        Id = id;
        ProtocolVersion = version;
        Aead = aead;
        Hash = sha384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;
        HashLength = sha384 ? 48 : 32;
        KeyLength = aead == TlsAead.Aes128Gcm ? 16 : 32;
        // TLS 1.2 GCM: 4-byte implicit salt + 8-byte explicit nonce in each record (RFC 5288).
        // TLS 1.3 and TLS 1.2 ChaCha20-Poly1305 (RFC 7905): a 12-byte IV XORed with the sequence number.
        IvLength = version == Tls12 && aead != TlsAead.ChaCha20Poly1305 ? 4 : NonceLength;
    }

    public ushort Id { get; }

    /// <summary>0x0303 or 0x0304: every supported suite belongs to exactly one version.</summary>
    public ushort ProtocolVersion { get; }

    public TlsAead Aead { get; }

    public HashAlgorithmName Hash { get; }

    public int HashLength { get; }

    public int KeyLength { get; }

    public int IvLength { get; }

    public bool IsTls13 => ProtocolVersion == Tls13;

    /// <summary>Bytes of explicit nonce carried in each record (TLS 1.2 AES-GCM only).</summary>
    public int ExplicitNonceLength => ProtocolVersion == Tls12 && Aead != TlsAead.ChaCha20Poly1305 ? 8 : 0;

    /// <summary>Secret length the state carries: TLS 1.3 traffic secrets (for KeyUpdate); none for TLS 1.2.</summary>
    public int TrafficSecretLength => IsTls13 ? HashLength : 0;

    public static bool TryGet(ushort id, out TlsCipherSuiteInfo info)
    {
        info = id switch
        {
            0x1301 => new(id, Tls13, TlsAead.Aes128Gcm, sha384: false),
            0x1302 => new(id, Tls13, TlsAead.Aes256Gcm, sha384: true),
            0x1303 => new(id, Tls13, TlsAead.ChaCha20Poly1305, sha384: false),
            0xC02B or 0xC02F => new(id, Tls12, TlsAead.Aes128Gcm, sha384: false),
            0xC02C or 0xC030 => new(id, Tls12, TlsAead.Aes256Gcm, sha384: true),
            0xCCA8 or 0xCCA9 => new(id, Tls12, TlsAead.ChaCha20Poly1305, sha384: false),
            _ => default,
        };
        return info.Id != 0;
    }

    public static TlsCipherSuiteInfo Get(ushort id) =>
        TryGet(id, out TlsCipherSuiteInfo info)
            ? info
            : throw new ArgumentOutOfRangeException(nameof(id), $"unsupported cipher suite 0x{id:X4}");
}
