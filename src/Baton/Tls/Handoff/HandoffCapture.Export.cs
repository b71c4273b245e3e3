using System.Security.Cryptography;
using Baton.Tls.Session;

namespace Baton.Tls.Handoff;

/// <summary>Turns the capture plus what libssl reports into a <see cref="TlsSessionState"/>, or refuses.</summary>
internal sealed partial class HandoffCapture
{
    private const int MasterSecretLength = 48;
    private const int RandomLength = 32;

    /// <summary>
    /// Exports the session after the handshake and the first read, and takes the unprocessed ciphertext out of the
    /// read BIO. Refuses (<see cref="HandoffRefusedException"/>, connection untouched) unless libssl holds no
    /// plaintext or partial record, every record it produced was sent, the BIO byte counts match the counted
    /// records in both directions, both directions use application keys, and the suite is an AEAD of TLS 1.2/1.3.
    /// On success the captured secrets are wiped; dispose the stream next (it frees the SSL without writing).
    /// </summary>
    public HandoffExport Export()
    {
        lock (_stream.SslLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ObjectDisposedException.ThrowIf(_stream.SslHandle.IsClosed, _stream);
            SafeSslHandle ssl = _stream.SslHandle;
            CheckNothingBuffered(ssl);
            CheckByteCounts();
            if (!_read.EpochStarted || !_write.EpochStarted)
            {
                Refuse(HandoffRefusalReason.EpochNotStarted, $"read epoch {_read.EpochStarted}, write epoch {_write.EpochStarted}");
            }
            TlsCipherSuiteInfo suite = NegotiatedSuite(ssl);
            nint session = Interop.Ssl.SslGetSession(ssl);
            if (session == 0) Refuse(HandoffRefusalReason.MissingSecrets, "no SSL_SESSION");
            int maxPlaintext = MaxPlaintext(Interop.Ssl.SslSessionGetMaxFragmentLength(session));
            TlsSessionState state = suite.IsTls13
                ? ExportTls13(ssl, suite, _read.Sequence, _write.Sequence, maxPlaintext)
                : ExportTls12(ssl, session, suite, _read.Sequence, _write.Sequence, maxPlaintext);
            WipeSecrets();
            return new HandoffExport(state, _stream.TakeUnprocessedInput());
        }
    }

    private void CheckNothingBuffered(SafeSslHandle ssl)
    {
        int pending = Interop.Ssl.SslPending(ssl);
        if (pending != 0) Refuse(HandoffRefusalReason.PendingPlaintext, $"SSL_pending = {pending}");
        // With read-ahead off this is a record libssl started to take from the read BIO but could not finish.
        if (Interop.Ssl.SslHasPending(ssl) != 0) Refuse(HandoffRefusalReason.PendingRecords, "SSL_has_pending = 1");
        nuint unsent = Interop.Crypto.BioCtrlPending(_stream.WriteBio);
        if (unsent != 0) Refuse(HandoffRefusalReason.UnsentOutput, $"{unsent} bytes still in the write BIO");
    }

    /// <summary>
    /// Every byte libssl took from the read BIO must belong to a counted record (bytes still in the BIO are fine: they
    /// travel as ciphertext), and every byte it wrote must too; otherwise a record went unseen and the sequence
    /// numbers cannot be trusted.
    /// </summary>
    private void CheckByteCounts()
    {
        ulong consumed = Interop.Crypto.BioNumberRead(_stream.ReadBio);
        ulong produced = Interop.Crypto.BioNumberWritten(_stream.WriteBio);
        if (consumed != _read.RecordBytes || produced != _write.RecordBytes)
        {
            Refuse(HandoffRefusalReason.ByteCountMismatch,
                $"read BIO {consumed} vs records {_read.RecordBytes}, write BIO {produced} vs records {_write.RecordBytes}");
        }
    }

    private static TlsCipherSuiteInfo NegotiatedSuite(SafeSslHandle ssl)
    {
        int version = Interop.Ssl.SslVersion(ssl);
        if (version is not (Interop.Ssl.TLS1_2_VERSION or Interop.Ssl.TLS1_3_VERSION))
        {
            Refuse(HandoffRefusalReason.UnsupportedVersion, $"version 0x{version:X4}");
        }
        nint cipher = Interop.Ssl.SslGetCurrentCipher(ssl);
        ushort id = cipher == 0 ? (ushort)0 : (ushort)Interop.Ssl.SslCipherGetProtocolId(cipher);
        if (!TlsCipherSuiteInfo.TryGet(id, out TlsCipherSuiteInfo suite) || suite.ProtocolVersion != version)
        {
            Refuse(HandoffRefusalReason.NotAead, $"suite 0x{id:X4} under version 0x{version:X4}");
        }
        return suite;
    }

    private TlsSessionState ExportTls13(SafeSslHandle ssl, TlsCipherSuiteInfo suite, ulong readSequence, ulong writeSequence, int maxPlaintext)
    {
        if (_clientTrafficSecretLength != suite.HashLength || _serverTrafficSecretLength != suite.HashLength)
        {
            Refuse(HandoffRefusalReason.MissingSecrets,
                $"keylog gave {_clientTrafficSecretLength}/{_serverTrafficSecretLength} secret bytes, suite needs {suite.HashLength}");
        }
        Span<byte> client = _clientTrafficSecret.AsSpan(0, suite.HashLength);
        Span<byte> server = _serverTrafficSecret.AsSpan(0, suite.HashLength);
        // The keylog only ever logs secret 0; KeyUpdates libssl already made advance it (RFC 8446 §7.2).
        for (int i = 0; i < _read.KeyUpdates; i++) TlsKeySchedule.UpdateTrafficSecret(suite, client);
        for (int i = 0; i < _write.KeyUpdates; i++) TlsKeySchedule.UpdateTrafficSecret(suite, server);
        // A KeyUpdate(update_requested) libssl received but has not answered yet: the worker sends it first.
        bool keyUpdateOwed = Interop.Ssl.SslGetKeyUpdateType(ssl) != Interop.Ssl.SSL_KEY_UPDATE_NONE;
        return TlsSessionState.FromTls13(suite.Id, client, server, readSequence, writeSequence, keyUpdateOwed, maxPlaintext);
    }

    private static unsafe TlsSessionState ExportTls12(
        SafeSslHandle ssl, nint session, TlsCipherSuiteInfo suite, ulong readSequence, ulong writeSequence, int maxPlaintext)
    {
        byte* master = stackalloc byte[MasterSecretLength];
        byte* clientRandom = stackalloc byte[RandomLength];
        byte* serverRandom = stackalloc byte[RandomLength];
        var masterSpan = new Span<byte>(master, MasterSecretLength);
        try
        {
            nuint masterLength = Interop.Ssl.SslSessionGetMasterKey(session, master, MasterSecretLength);
            nuint clientLength = Interop.Ssl.SslGetClientRandom(ssl, clientRandom, RandomLength);
            nuint serverLength = Interop.Ssl.SslGetServerRandom(ssl, serverRandom, RandomLength);
            if (masterLength != MasterSecretLength || clientLength != RandomLength || serverLength != RandomLength)
            {
                Refuse(HandoffRefusalReason.MissingSecrets, $"master secret {masterLength}, randoms {clientLength}/{serverLength} bytes");
            }
            return TlsSessionState.FromTls12(suite.Id, masterSpan, new ReadOnlySpan<byte>(clientRandom, RandomLength),
                new ReadOnlySpan<byte>(serverRandom, RandomLength), readSequence, writeSequence, maxPlaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(masterSpan);
        }
    }

    /// <summary>max_fragment_length codes 1..4 mean 2^9..2^12 (RFC 6066); anything else leaves the TLS limit, 2^14.</summary>
    internal static int MaxPlaintext(byte maxFragmentLength) =>
        maxFragmentLength is >= 1 and <= 4 ? 256 << maxFragmentLength : TlsRecordLimits.MaxPlaintext;

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Refuse(HandoffRefusalReason reason, string detail) => throw new HandoffRefusedException(reason, detail);
}
