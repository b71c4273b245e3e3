namespace Baton.Tls;

/// <summary>OpenSSL's names for the protocol versions and the AEAD suites a handed-off session can use.</summary>
internal static class TlsNames
{
    public static string Protocol(ushort version) => version switch
    {
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => $"0x{version:x4}",
    };

    public static string CipherSuite(ushort id) => id switch
    {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B => "ECDHE-ECDSA-AES128-GCM-SHA256",
        0xC02C => "ECDHE-ECDSA-AES256-GCM-SHA384",
        0xC02F => "ECDHE-RSA-AES128-GCM-SHA256",
        0xC030 => "ECDHE-RSA-AES256-GCM-SHA384",
        0xCCA8 => "ECDHE-RSA-CHACHA20-POLY1305",
        0xCCA9 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        _ => $"0x{id:x4}",
    };
}
