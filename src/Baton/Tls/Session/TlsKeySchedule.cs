using System.Security.Cryptography;
using System.Text;

namespace Baton.Tls.Session;

/// <summary>
/// The two key derivations the worker needs: TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1, §7.3, §4.6.3)
/// and the TLS 1.2 PRF key expansion (RFC 5246 §5, §6.3).
/// </summary>
internal static class TlsKeySchedule
{
    private const int MaxLabelLength = 32;

    /// <summary>HKDF-Expand-Label(secret, label, "", output.Length).</summary>
    public static void ExpandLabel(HashAlgorithmName hash, ReadOnlySpan<byte> secret, string label, Span<byte> output)
    {
        // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255> = ""; }
        Span<byte> info = stackalloc byte[2 + 1 + 6 + MaxLabelLength + 1];
        int labelLength = Encoding.ASCII.GetByteCount(label);
        if (labelLength > MaxLabelLength) throw new ArgumentOutOfRangeException(nameof(label));
        info[0] = (byte)(output.Length >> 8);
        info[1] = (byte)output.Length;
        info[2] = (byte)(6 + labelLength);
        "tls13 "u8.CopyTo(info[3..]);
        Encoding.ASCII.GetBytes(label, info[9..]);
        info[9 + labelLength] = 0;
        HKDF.Expand(hash, secret, output, info[..(10 + labelLength)]);
    }

    /// <summary>TLS 1.3 record key and IV of a traffic secret.</summary>
    public static void DeriveTls13Keys(in TlsCipherSuiteInfo suite, ReadOnlySpan<byte> trafficSecret, Span<byte> key, Span<byte> iv)
    {
        ExpandLabel(suite.Hash, trafficSecret, "key", key[..suite.KeyLength]);
        ExpandLabel(suite.Hash, trafficSecret, "iv", iv[..TlsCipherSuiteInfo.NonceLength]);
    }

    /// <summary>KeyUpdate: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length), in place.</summary>
    public static void UpdateTrafficSecret(in TlsCipherSuiteInfo suite, Span<byte> trafficSecret)
    {
        Span<byte> next = stackalloc byte[suite.HashLength];
        ExpandLabel(suite.Hash, trafficSecret, "traffic upd", next);
        next.CopyTo(trafficSecret);
        CryptographicOperations.ZeroMemory(next);
    }

    /// <summary>TLS 1.2 PRF: P_hash(secret, label ‖ seed) truncated to output.Length.</summary>
    public static void Tls12Prf(HashAlgorithmName hash, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> seed, Span<byte> output)
    {
        int hashLength = hash == HashAlgorithmName.SHA384 ? 48 : hash == HashAlgorithmName.SHA256 ? 32
            : throw new ArgumentOutOfRangeException(nameof(hash));
        byte[] labelSeed = new byte[label.Length + seed.Length];
        label.CopyTo(labelSeed);
        seed.CopyTo(labelSeed.AsSpan(label.Length));
        // A(i) ‖ label ‖ seed, so that each output block is one HMAC over a contiguous buffer.
        byte[] chain = new byte[hashLength + labelSeed.Length];
        labelSeed.CopyTo(chain, hashLength);
        Span<byte> block = stackalloc byte[hashLength];
        try
        {
            Hmac(hash, secret, labelSeed, chain.AsSpan(0, hashLength)); // A(1)
            for (int done = 0; done < output.Length; done += hashLength)
            {
                Hmac(hash, secret, chain, block);
                block[..Math.Min(hashLength, output.Length - done)].CopyTo(output[done..]);
                Hmac(hash, secret, chain.AsSpan(0, hashLength), block); // A(i+1), not computed in place
                block.CopyTo(chain);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chain);
            CryptographicOperations.ZeroMemory(block);
        }
    }

    /// <summary>
    /// TLS 1.2 AEAD key_block (RFC 5246 §6.3, no MAC keys for AEAD suites):
    /// client_write_key ‖ server_write_key ‖ client_write_IV ‖ server_write_IV,
    /// from PRF(master_secret, "key expansion", server_random ‖ client_random).
    /// </summary>
    public static void DeriveTls12Keys(
        in TlsCipherSuiteInfo suite, ReadOnlySpan<byte> masterSecret, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom,
        Span<byte> clientKey, Span<byte> serverKey, Span<byte> clientIv, Span<byte> serverIv)
    {
        int keyLength = suite.KeyLength, ivLength = suite.IvLength;
        Span<byte> seed = stackalloc byte[serverRandom.Length + clientRandom.Length];
        serverRandom.CopyTo(seed);
        clientRandom.CopyTo(seed[serverRandom.Length..]);
        Span<byte> keyBlock = stackalloc byte[2 * keyLength + 2 * ivLength];
        Tls12Prf(suite.Hash, masterSecret, "key expansion"u8, seed, keyBlock);
        keyBlock.Slice(0, keyLength).CopyTo(clientKey);
        keyBlock.Slice(keyLength, keyLength).CopyTo(serverKey);
        keyBlock.Slice(2 * keyLength, ivLength).CopyTo(clientIv);
        keyBlock.Slice(2 * keyLength + ivLength, ivLength).CopyTo(serverIv);
        CryptographicOperations.ZeroMemory(keyBlock);
    }

    private static void Hmac(HashAlgorithmName hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (hash == HashAlgorithmName.SHA384) HMACSHA384.HashData(key, data, destination);
        else HMACSHA256.HashData(key, data, destination);
    }
}
