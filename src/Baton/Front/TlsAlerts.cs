namespace Baton.Front;

/// <summary>Plaintext TLS alert records the front sends before any keys exist.</summary>
internal static class TlsAlerts
{
    /// <summary>A fatal decode_error(50) alert in a TLS 1.2-versioned record.</summary>
    public static ReadOnlyMemory<byte> DecodeError { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 50 };

    /// <summary>A fatal unexpected_message(10) alert in a TLS 1.2-versioned record.</summary>
    public static ReadOnlyMemory<byte> UnexpectedMessage { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 10 };
}
