namespace Baton.Inspection;

/// <summary>Why <see cref="ProxyProtocolParser"/> answered <see cref="ParseStatus.Invalid"/>.</summary>
internal enum ProxyHeaderError
{
    /// <summary>No error (the status was not Invalid).</summary>
    None,

    /// <summary>The first byte starts neither signature: the peer is not speaking the PROXY protocol.</summary>
    NotProxyProtocol,

    /// <summary>The bytes start like a signature ("PROXY " or the v2 12-byte block) but then differ.</summary>
    BadSignature,

    /// <summary>v1 line longer than 107 bytes, or v2 header longer than the caller's limit.</summary>
    TooLong,

    /// <summary>v1 line structure is wrong: missing or extra fields, double spaces, bad characters, no CRLF.</summary>
    Malformed,

    /// <summary>v2 version nibble is not 2.</summary>
    BadVersion,

    /// <summary>v2 command is neither LOCAL nor PROXY.</summary>
    BadCommand,

    /// <summary>Unknown address family or transport (v1 protocol other than TCP4/TCP6/UNKNOWN).</summary>
    BadFamily,

    /// <summary>An address does not parse strictly or is of the wrong family.</summary>
    BadAddress,

    /// <summary>A v1 port is not a decimal 0..65535 without leading zeros.</summary>
    BadPort,

    /// <summary>v2 address block shorter than the family requires, or a TLV overruns the header.</summary>
    Truncated,
}
