namespace Baton.Front;

/// <summary>Plaintext TLS alert records the front sends before any keys exist.</summary>
internal static class TlsAlerts
{
    /// <summary>A fatal alert with <paramref name="description"/> in a TLS 1.2-versioned record.</summary>
    public static ReadOnlyMemory<byte> Fatal(byte description) => new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description };

    /// <summary>
    /// A fatal internal_error(80) alert: the front cannot go on for a reason that is not the client's (no worker can take
    /// the connection). RFC 8446 §6.2 has no "try later" alert; internal_error is the one that blames neither side.
    /// </summary>
    public static ReadOnlyMemory<byte> InternalError { get; } = Fatal(80);
}
