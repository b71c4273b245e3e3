namespace Baton.Tls.Handoff;

/// <summary>Why a session could not be exported; the front then serves or closes the connection itself.</summary>
internal enum HandoffRefusalReason
{
    /// <summary>libssl holds decrypted plaintext no read returned yet (SSL_pending &gt; 0): read with a bigger buffer.</summary>
    PendingPlaintext = 1,

    /// <summary>libssl buffered part of a record it already took from the read BIO (SSL_has_pending).</summary>
    PendingRecords,

    /// <summary>Records OpenSSL produced have not all been sent yet (the write BIO is not empty).</summary>
    UnsentOutput,

    /// <summary>The bytes OpenSSL moved through a BIO differ from the records the msg callback counted.</summary>
    ByteCountMismatch,

    /// <summary>A direction has not switched to application keys yet (handshake unfinished, or capture attached late).</summary>
    EpochNotStarted,

    /// <summary>The negotiated suite is not one the worker's record layer implements (AES-GCM, ChaCha20-Poly1305).</summary>
    NotAead,

    /// <summary>Neither TLS 1.2 nor TLS 1.3.</summary>
    UnsupportedVersion,

    /// <summary>The keylog callback did not deliver both TLS 1.3 traffic secrets, or the TLS 1.2 master secret is missing.</summary>
    MissingSecrets,
}

/// <summary>The session cannot be handed to a worker; nothing was changed on the connection.</summary>
internal sealed class HandoffRefusedException : Exception
{
    internal HandoffRefusedException(HandoffRefusalReason reason, string detail)
        : base($"TLS handoff refused ({reason}): {detail}")
    {
        Reason = reason;
    }

    public HandoffRefusalReason Reason { get; }
}
