namespace Baton.Tls.Session;

/// <summary>TLS content types (RFC 8446 §5.1).</summary>
internal enum TlsContentType : byte
{
    ChangeCipherSpec = 20,
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
}

internal enum TlsAlertLevel : byte
{
    Warning = 1,
    Fatal = 2,
}

/// <summary>The alert descriptions the record layer sends or reacts to (RFC 8446 §6).</summary>
internal enum TlsAlertDescription : byte
{
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    RecordOverflow = 22,
    IllegalParameter = 47,
    DecodeError = 50,
    ProtocolVersion = 70,
    InternalError = 80,
    UserCanceled = 90,
    NoRenegotiation = 100,
}

/// <summary>
/// The connection failed with a TLS alert: one we sent (the peer broke the protocol) or a fatal one the peer sent.
/// </summary>
internal sealed class TlsAlertException : IOException
{
    internal TlsAlertException(TlsAlertDescription description, bool sentByPeer, string message)
        : base($"TLS {(sentByPeer ? "alert received" : "alert sent")}: {description} ({(int)description}): {message}")
    {
        Description = description;
        SentByPeer = sentByPeer;
    }

    public TlsAlertDescription Description { get; }

    /// <summary>True when the peer sent the alert; false when this side sent it.</summary>
    public bool SentByPeer { get; }
}
