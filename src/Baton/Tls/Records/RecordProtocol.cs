using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>What <see cref="TlsRecordStream"/> does with a record once <see cref="RecordProtocol"/> has read it.</summary>
internal enum RecordAction : byte
{
    /// <summary>Application data: hand it to the reader.</summary>
    Data,

    /// <summary>Nothing to do: an empty record, a warning alert, part of a handshake message.</summary>
    Nothing,

    /// <summary>The peer's KeyUpdate: the state holds the next read key, the backend must install it.</summary>
    FollowKeyUpdate,

    /// <summary>As FollowKeyUpdate, then answer with a KeyUpdate of our own (the peer sent update_requested).</summary>
    FollowAndAnswerKeyUpdate,

    /// <summary>A TLS 1.2 ClientHello: send a no_renegotiation warning and go on.</summary>
    RefuseRenegotiation,

    /// <summary>close_notify: reads return 0 from now on.</summary>
    PeerClosed,

    /// <summary>The peer broke the protocol: send the alert of <see cref="RecordProtocol.ReadFailure"/>, then throw it.</summary>
    Fail,

    /// <summary>The peer sent a fatal alert: throw <see cref="RecordProtocol.ReadFailure"/>, send nothing more.</summary>
    PeerFatalAlert,
}

/// <summary>
/// The TLS record protocol after the handoff, for both record layers (user space and kernel): what each
/// decrypted record means, which alert a broken one gets, how KeyUpdates move the read and write keys, when
/// the write side closes, where an owed KeyUpdate goes, and the AEAD usage limits. It works on the session
/// state and on spans only; the backends move records and ask it about each one, so both layers follow the
/// same rules by construction.
/// <para>
/// Threads: the read side is the reader's. The write side belongs to whoever holds the stream's write lock,
/// except that the reader closes it on a fatal alert from the peer (a volatile flag: a write already under
/// way finishes, the next one fails).
/// </para>
/// </summary>
internal sealed partial class RecordProtocol
{
    /// <summary>OpenSSL allows 32 empty records in a row (MAX_EMPTY_RECORDS); the same bound covers alerts and refused renegotiations.</summary>
    internal const int MaxRecordsWithoutData = 32;

    /// <summary>
    /// KeyUpdates in a row without data. OpenSSL sets no bound and a client may rekey often (a 33rd KeyUpdate
    /// was refused here once, where OpenSSL went on): far above any legitimate rekeying, low enough that a peer
    /// cannot keep the worker deriving keys for free.
    /// </summary>
    internal const int MaxKeyUpdatesWithoutData = 1024;

    internal const byte KeyUpdateType = 24;
    private const byte ClientHelloType = 1;
    private const int HandshakeHeaderLength = 4;

    private readonly TlsSessionState _state;
    private readonly TlsCipherSuiteInfo _suite;
    private readonly bool _keyUpdateInOneRecord;
    private int _recordsWithoutData;
    private int _keyUpdatesWithoutData;

    // A post-handshake handshake message may span records: its header is collected, its body counted.
    private int _headerBytes;
    private byte _messageType;
    private int _messageLength;
    private int _bodyRemaining;
    private byte _keyUpdateRequest;

    /// <param name="state">The session; the protocol moves its keys and sequence numbers at KeyUpdates.</param>
    /// <param name="keyUpdateInOneRecord">
    /// The backend cannot follow a KeyUpdate that continues past the record it starts in (kernel TLS stops
    /// decrypting after that record until it has the next key), so such a KeyUpdate fails instead of being reassembled.
    /// </param>
    public RecordProtocol(TlsSessionState state, bool keyUpdateInOneRecord = false)
    {
        _state = state;
        _suite = state.Suite;
        _keyUpdateInOneRecord = keyUpdateInOneRecord;
        _keyUpdateOwed = state.KeyUpdatePending;
    }

    public bool IsTls13 => _suite.IsTls13;

    /// <summary>Part of a post-handshake message (a KeyUpdate) has been read: the session cannot be detached now.</summary>
    public bool InHandshakeMessage => _headerBytes != 0;

    /// <summary>The peer sent close_notify.</summary>
    public bool PeerClosed { get; private set; }

    /// <summary>Why reading failed for good (an alert we sent or one the peer sent); null while reading goes on.</summary>
    public TlsAlertException? ReadFailure { get; private set; }

    /// <summary>Decides what one decrypted record (its real content type and content) means.</summary>
    public RecordAction OnRecord(TlsContentType type, ReadOnlySpan<byte> content)
    {
        RecordAction action = Interpret(type, content);
        switch (action)
        {
            case RecordAction.Data:
                _recordsWithoutData = 0;
                _keyUpdatesWithoutData = 0;
                return action;
            case RecordAction.Fail or RecordAction.PeerFatalAlert or RecordAction.PeerClosed:
                return action;
            // Empty records, warnings, KeyUpdates and refused renegotiations cost work but yield nothing:
            // bounded, so a peer cannot keep the worker busy for free.
            case RecordAction.FollowKeyUpdate or RecordAction.FollowAndAnswerKeyUpdate:
                return ++_keyUpdatesWithoutData > MaxKeyUpdatesWithoutData
                    ? Fail(TlsAlertDescription.UnexpectedMessage, $"more than {MaxKeyUpdatesWithoutData} KeyUpdates in a row without data")
                    : action;
            default:
                return ++_recordsWithoutData > MaxRecordsWithoutData
                    ? Fail(TlsAlertDescription.UnexpectedMessage, $"more than {MaxRecordsWithoutData} records in a row without data")
                    : action;
        }
    }

    /// <summary>Fails reading for good with an alert we send (also for what a backend refuses before the protocol sees it).</summary>
    public RecordAction Fail(TlsAlertDescription alert, string reason)
    {
        ReadFailure = new TlsAlertException(alert, sentByPeer: false, reason);
        return RecordAction.Fail;
    }

    private RecordAction Interpret(TlsContentType type, ReadOnlySpan<byte> content)
    {
        if (type != TlsContentType.Handshake && _headerBytes != 0)
            return Fail(TlsAlertDescription.UnexpectedMessage, $"content type {(byte)type} inside a handshake message");
        return type switch
        {
            TlsContentType.ApplicationData => content.IsEmpty ? RecordAction.Nothing : RecordAction.Data,
            TlsContentType.Alert => OnAlert(content),
            TlsContentType.Handshake => OnHandshake(content),
            _ => Fail(TlsAlertDescription.UnexpectedMessage, $"inner content type {(byte)type}"),
        };
    }

    private RecordAction OnAlert(ReadOnlySpan<byte> content)
    {
        if (content.Length != 2) return Fail(TlsAlertDescription.DecodeError, $"alert record of {content.Length} bytes");
        var level = (TlsAlertLevel)content[0];
        var alert = (TlsAlertDescription)content[1];
        if (alert == TlsAlertDescription.CloseNotify)
        {
            PeerClosed = true;
            return RecordAction.PeerClosed;
        }
        // TLS 1.3 (§6): every alert but close_notify and user_canceled is fatal whatever its level says.
        bool warning = _suite.IsTls13 ? alert == TlsAlertDescription.UserCanceled : level == TlsAlertLevel.Warning;
        if (warning) return RecordAction.Nothing;
        ReadFailure = new TlsAlertException(alert, sentByPeer: true, "the peer ended the connection");
        _writeClosed = true; // no more records after a fatal alert (RFC 8446 §6.2)
        return RecordAction.PeerFatalAlert;
    }

    private RecordAction OnHandshake(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty) return Fail(TlsAlertDescription.UnexpectedMessage, "empty handshake record");
        RecordAction outcome = RecordAction.Nothing;
        while (!content.IsEmpty)
        {
            if (_headerBytes < HandshakeHeaderLength)
            {
                if (_headerBytes++ == 0) _messageType = content[0];
                else _messageLength = (_messageLength << 8) | content[0];
                content = content[1..];
                if (_headerBytes < HandshakeHeaderLength) continue;
                RecordAction started = StartMessage();
                if (started == RecordAction.Fail) return started;
                if (started == RecordAction.RefuseRenegotiation) outcome = started;
            }
            int body = Math.Min(_bodyRemaining, content.Length);
            if (body > 0) _keyUpdateRequest = content[0];
            content = content[body..];
            _bodyRemaining -= body;
            if (_bodyRemaining > 0) break;
            _headerBytes = 0;
            _messageLength = 0;
            if (_messageType != KeyUpdateType) continue;
            // RFC 8446 §5.1: a message preceding a key change must end its record.
            if (!content.IsEmpty) return Fail(TlsAlertDescription.UnexpectedMessage, "KeyUpdate not at the end of its record");
            return FollowPeerKeyUpdate();
        }
        if (_keyUpdateInOneRecord && _headerBytes != 0 && _messageType == KeyUpdateType)
            return Fail(TlsAlertDescription.UnexpectedMessage, "KeyUpdate split across records (kernel TLS stops decrypting after the record that starts one)");
        return outcome;
    }

    private RecordAction StartMessage()
    {
        _bodyRemaining = _messageLength;
        if (!_suite.IsTls13)
        {
            // A ClientHello now is a renegotiation attempt: refuse politely and skip it (RFC 5746 §4.1 style).
            return _messageType == ClientHelloType
                ? RecordAction.RefuseRenegotiation
                : Fail(TlsAlertDescription.UnexpectedMessage, $"handshake message {_messageType} after the handshake");
        }
        // Without post-handshake authentication, KeyUpdate is the only handshake message a TLS 1.3 client may send.
        if (_messageType != KeyUpdateType)
            return Fail(TlsAlertDescription.UnexpectedMessage, $"handshake message {_messageType} after the handshake");
        return _messageLength == 1 ? RecordAction.Nothing : Fail(TlsAlertDescription.DecodeError, $"KeyUpdate of {_messageLength} bytes");
    }

    private RecordAction FollowPeerKeyUpdate()
    {
        if (_keyUpdateRequest > 1) return Fail(TlsAlertDescription.IllegalParameter, $"KeyUpdate request_update {_keyUpdateRequest}");
        TlsKeySchedule.UpdateTrafficSecret(_suite, _state.ReadSecret);
        TlsKeySchedule.DeriveTls13Keys(_suite, _state.ReadSecret, _state.ReadKey, _state.ReadIv);
        _state.ReadSequence = 0;
        return _keyUpdateRequest == 1 ? RecordAction.FollowAndAnswerKeyUpdate : RecordAction.FollowKeyUpdate;
    }
}
