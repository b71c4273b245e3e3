namespace Baton.Inspection;

/// <summary>What the front needs from a ClientHello to route a connection without terminating TLS.</summary>
internal sealed class ClientHelloInfo
{
    internal const ushort Tls13 = 0x0304;

    /// <summary>Version from the first record header (e.g. 0x0301).</summary>
    public ushort RecordVersion { get; internal init; }

    /// <summary>legacy_version of the ClientHello (0x0303 for TLS 1.2 and 1.3 clients).</summary>
    public ushort HelloVersion { get; internal init; }

    /// <summary>The host_name from server_name, lowercased; null when the client sent none.</summary>
    public string? ServerName { get; internal init; }

    /// <summary>ALPN protocols in client preference order; empty when the client sent no ALPN.</summary>
    public IReadOnlyList<string> ApplicationProtocols { get; internal init; } = [];

    /// <summary>supported_versions in client order (GREASE values included); empty when absent.</summary>
    public IReadOnlyList<ushort> SupportedVersions { get; internal init; } = [];

    /// <summary>True when supported_versions lists TLS 1.3.</summary>
    public bool OffersTls13 { get; internal init; }

    /// <summary>Number of cipher suites offered (GREASE included).</summary>
    public int CipherSuiteCount { get; internal init; }

    /// <summary>Bytes of the TLS records that carry the ClientHello, headers included.</summary>
    public int Length { get; internal init; }
}
