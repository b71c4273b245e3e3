namespace Baton.Front;

/// <summary>Plaintext TLS alert records the front sends before any keys exist.</summary>
internal static class TlsAlerts
{
    /// <summary>A fatal decode_error(50) alert in a TLS 1.2-versioned record.</summary>
    public static ReadOnlyMemory<byte> DecodeError { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 50 };

    /// <summary>A fatal unexpected_message(10) alert in a TLS 1.2-versioned record.</summary>
    public static ReadOnlyMemory<byte> UnexpectedMessage { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 10 };

    /// <summary>
    /// A fatal internal_error(80) alert: the front cannot go on for a reason that is not the client's (no worker can take
    /// the connection). RFC 8446 §6.2 has no "try later" alert; internal_error is the one that blames neither side.
    /// </summary>
    public static ReadOnlyMemory<byte> InternalError { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80 };
}
