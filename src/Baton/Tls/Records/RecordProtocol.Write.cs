using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal sealed partial class RecordProtocol
{
    /// <summary>TLS 1.3 sends a KeyUpdate before a key would seal more records (RFC 8446 §5.5 allows 2^24.5 for AES-GCM).</summary>
    internal const ulong Tls13KeyUpdateThreshold = 1UL << 24;

    /// <summary>TLS 1.2 cannot rekey without renegotiation: AES-GCM writes fail at this many records.</summary>
    internal const ulong Tls12GcmRecordLimit = 1UL << 24;

    /// <summary>ChaCha20-Poly1305's limit is the sequence number space: 2^64 - 1 records.</summary>
    internal const ulong Tls12ChaChaRecordLimit = ulong.MaxValue;

    internal const int KeyUpdateLength = 5;
    internal const int AlertLength = 2;

    private volatile bool _writeClosed;
    private bool _keyUpdateOwed;

    /// <summary>No record may be written any more: close_notify or a fatal alert went out, the peer sent a fatal alert, or a write failed.</summary>
    public bool WriteClosed => _writeClosed;

    /// <summary>A KeyUpdate(update_not_requested) must go out before the next application data (see <see cref="KeyUpdateBeforeAlert"/>).</summary>
    public bool KeyUpdateOwed => _keyUpdateOwed;

    public void CloseWrite() => _writeClosed = true;

    public void ThrowIfWriteClosed()
    {
        if (_writeClosed) throw new IOException("the TLS connection is closed for writing");
    }

    /// <summary>The peer asked for our KeyUpdate (RFC 8446 §4.6.3: before our next application data record).</summary>
    public void OweKeyUpdate() => _keyUpdateOwed = true;

    /// <summary>Records that <paramref name="length"/> bytes of application data make at most.</summary>
    public int RecordsFor(int length) => (length + _state.MaxPlaintext - 1) / _state.MaxPlaintext;

    /// <summary>
    /// Called before application data that makes up to <paramref name="records"/> records is written under the
    /// current key, counted from the state's WriteSequence. True when a KeyUpdate must go first: one is owed, or
    /// (TLS 1.3) the key would pass its usage limit. TLS 1.2 has no rekeying: past the limit this throws an
    /// IOException and the connection must be closed.
    /// </summary>
    public bool KeyUpdateBeforeData(int records)
    {
        ulong written = _state.WriteSequence;
        if (_suite.IsTls13) return _keyUpdateOwed || written > Tls13KeyUpdateThreshold - (ulong)records;
        ulong limit = _suite.Aead == TlsAead.ChaCha20Poly1305 ? Tls12ChaChaRecordLimit : Tls12GcmRecordLimit;
        if (written > limit - (ulong)records)
            throw new IOException("TLS 1.2 AEAD record limit reached: this connection cannot be rekeyed and must be closed");
        return false;
    }

    /// <summary>
    /// The one ordering rule for an owed KeyUpdate: it goes before application data (RFC 8446 §4.6.3) and before every
    /// alert but a fatal one, close_notify included, so that a session never ends with the peer's request unanswered.
    /// Not before a fatal alert: the connection is failing, a rekey buys nothing and must not hold the alert up.
    /// </summary>
    public bool KeyUpdateBeforeAlert(TlsAlertLevel level) => _keyUpdateOwed && level != TlsAlertLevel.Fatal;

    /// <summary>Our KeyUpdate message (5 bytes) into <paramref name="message"/>; TLS 1.3 only.</summary>
    public void WriteKeyUpdate(bool requestPeerUpdate, Span<byte> message)
    {
        if (!_suite.IsTls13) throw new InvalidOperationException("KeyUpdate exists only in TLS 1.3");
        ReadOnlySpan<byte> keyUpdate = [KeyUpdateType, 0, 0, 1, requestPeerUpdate ? (byte)1 : (byte)0];
        keyUpdate.CopyTo(message);
    }

    /// <summary>
    /// Our KeyUpdate went out under the current key: the state gets the next write secret, key and IV, and the
    /// write sequence restarts. The backend installs the new key before anything else is written.
    /// </summary>
    public void AdvanceWriteKey()
    {
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.WriteSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.WriteSecret, _state.WriteKey, _state.WriteIv);
        _state.WriteSequence = 0;
        _keyUpdateOwed = false;
        _state.KeyUpdatePending = false;
    }

    /// <summary>Writes the alert's 2 bytes; close_notify and fatal alerts close the write side.</summary>
    public void WriteAlert(TlsAlertLevel level, TlsAlertDescription description, Span<byte> message)
    {
        message[0] = (byte)level;
        message[1] = (byte)description;
        if (level == TlsAlertLevel.Fatal || description == TlsAlertDescription.CloseNotify) _writeClosed = true;
    }
}
