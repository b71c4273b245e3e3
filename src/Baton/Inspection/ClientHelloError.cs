namespace Baton.Inspection;

/// <summary>Why <see cref="ClientHelloParser"/> answered <see cref="ParseStatus.Invalid"/>.</summary>
internal enum ClientHelloError
{
    /// <summary>No error (the status was not Invalid).</summary>
    None,

    /// <summary>The first byte is not a TLS handshake record (0x16): plaintext, SSLv2 hello, or another protocol.</summary>
    NotTls,

    /// <summary>A record header carries a version other than 3.0 to 3.4.</summary>
    UnsupportedRecordVersion,

    /// <summary>A record announces more than 2^14 payload bytes.</summary>
    RecordTooLarge,

    /// <summary>The first handshake message is not a ClientHello.</summary>
    NotClientHello,

    /// <summary>The ClientHello message announces more bytes than the caller's limit.</summary>
    HelloTooLarge,

    /// <summary>The hello's records, headers included, take more than <see cref="ClientHelloParser.MaxWireBytes"/>: split too finely.</summary>
    TooFragmented,

    /// <summary>
    /// A record of another type (application data, alert, ...) between the records of the hello: handshake messages must
    /// not be interleaved with other records (RFC 8446 5.1). libssl answers it with unexpected_message, so the front does.
    /// </summary>
    UnexpectedRecord,

    /// <summary>Bad lengths, overruns, trailing bytes, empty records.</summary>
    Malformed,

    /// <summary>The server_name extension is malformed or the host name is not a valid ASCII DNS name.</summary>
    BadServerName,

    /// <summary>The ALPN extension is malformed (empty list or empty protocol name).</summary>
    BadAlpn,

    /// <summary>The supported_versions extension is malformed.</summary>
    BadSupportedVersions,

    /// <summary>The same extension type appears twice.</summary>
    DuplicateExtension,
}
