namespace Baton.Inspection;

/// <summary>
/// Why <see cref="ClientHelloParser"/> answered <see cref="ParseStatus.Invalid"/>. The parser refuses only what it must
/// read to route (record framing, the handshake header, the hello's framing up to and through its extensions, SNI and
/// ALPN), and each refusal is one libssl makes too, with the alert <see cref="ClientHelloErrors.Alert"/> gives: a hello
/// the front refuses is one libssl would have refused the same way. Everything else is libssl's to judge.
/// </summary>
internal enum ClientHelloError
{
    /// <summary>No error (the status was not Invalid).</summary>
    None,

    /// <summary>The first record's version major is not 3: plaintext or another protocol. libssl closes without an alert.</summary>
    NotTls,

    /// <summary>A record after the first carries a version major other than 3 (libssl: protocol_version).</summary>
    UnsupportedRecordVersion,

    /// <summary>A record announces more than 2^14 payload bytes (libssl: record_overflow).</summary>
    RecordTooLarge,

    /// <summary>
    /// A record of another type than handshake (application data, alert, ...) before or inside the hello, or more than
    /// <see cref="ClientHelloParser.MaxEmptyRecords"/> empty records in a row (libssl: unexpected_message).
    /// </summary>
    UnexpectedRecord,

    /// <summary>The first handshake message is not a ClientHello (libssl: unexpected_message).</summary>
    NotClientHello,

    /// <summary>
    /// The ClientHello message announces more bytes than the front's limit (Limits:ClientHelloMaxBytes). A policy, not
    /// libssl's: answered as libssl answers a message over its own bound (illegal_parameter).
    /// </summary>
    HelloTooLarge,

    /// <summary>
    /// The hello's records, headers included, take more than <see cref="ClientHelloParser.MaxWireBytes"/>: split too
    /// finely for the front's peek window. A policy (libssl has no such bound), answered as <see cref="HelloTooLarge"/>.
    /// </summary>
    TooFragmented,

    /// <summary>The hello's framing (its vectors, the extension block, an extension's length) does not add up (libssl: decode_error).</summary>
    Malformed,

    /// <summary>The server_name extension is not one host_name entry exactly (libssl: decode_error).</summary>
    BadServerName,

    /// <summary>The host name is longer than 255 bytes or contains a zero byte (libssl: unrecognized_name).</summary>
    UnrecognizedServerName,

    /// <summary>The ALPN extension is malformed: an empty list or an empty protocol name (libssl: decode_error).</summary>
    BadAlpn,

    /// <summary>server_name or ALPN appears twice (libssl refuses any extension it knows twice: illegal_parameter).</summary>
    DuplicateExtension,
}

/// <summary>The alert libssl sends for each refusal.</summary>
internal static class ClientHelloErrors
{
    /// <summary>The TLS alert description for <paramref name="error"/>, or null when libssl sends none (not TLS at all).</summary>
    public static byte? Alert(this ClientHelloError error) => error switch
    {
        ClientHelloError.NotTls or ClientHelloError.None => null,
        ClientHelloError.UnsupportedRecordVersion => 70, // protocol_version
        ClientHelloError.RecordTooLarge => 22, // record_overflow
        ClientHelloError.UnexpectedRecord or ClientHelloError.NotClientHello => 10, // unexpected_message
        ClientHelloError.HelloTooLarge or ClientHelloError.TooFragmented or ClientHelloError.DuplicateExtension => 47, // illegal_parameter
        ClientHelloError.UnrecognizedServerName => 112, // unrecognized_name
        _ => 50, // decode_error
    };
}
