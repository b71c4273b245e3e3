namespace Baton.Tls.Session;

/// <summary>The record sizes of RFC 8446 §5.1–5.2 and RFC 5246 §6.2, shared by the export and both record layers.</summary>
internal static class TlsRecordLimits
{
    /// <summary>content type, legacy version, length.</summary>
    internal const int HeaderLength = 5;

    /// <summary>2^14: the most plaintext one record may carry (max_fragment_length can only lower it).</summary>
    internal const int MaxPlaintext = 1 << 14;

    internal const int MaxTls13Ciphertext = MaxPlaintext + 256;

    internal const int MaxTls12Ciphertext = MaxPlaintext + 2048;
}
