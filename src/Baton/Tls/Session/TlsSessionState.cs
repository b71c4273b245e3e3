using System.Security.Cryptography;

namespace Baton.Tls.Session;

/// <summary>
/// The TLS session state the front sends to a worker with the socket: enough for the worker's record layer
/// to continue the same session, and nothing else (ALPN, SNI and the plaintext already read travel in other
/// fields of the channel message). "Read" and "write" are from the worker's (server's) side.
/// All secret bytes live in arrays owned by this object; <see cref="Dispose"/> zeroes them.
/// A <see cref="TlsRecordStream"/> built from a state takes it over: it updates keys and sequence numbers in place.
/// </summary>
internal sealed partial class TlsSessionState : IDisposable
{
    private bool _keyUpdatePending;

    private TlsSessionState(TlsCipherSuiteInfo suite, int maxPlaintext)
    {
        Suite = suite;
        MaxPlaintext = maxPlaintext;
        ReadKey = new byte[suite.KeyLength];
        WriteKey = new byte[suite.KeyLength];
        ReadIv = new byte[suite.IvLength];
        WriteIv = new byte[suite.IvLength];
        ReadSecret = new byte[suite.TrafficSecretLength];
        WriteSecret = new byte[suite.TrafficSecretLength];
    }

    /// <summary>0x0303 (TLS 1.2) or 0x0304 (TLS 1.3).</summary>
    public ushort ProtocolVersion => Suite.ProtocolVersion;

    /// <summary>IANA id of the negotiated suite.</summary>
    public ushort CipherSuite => Suite.Id;

    internal TlsCipherSuiteInfo Suite { get; }

    public byte[] ReadKey { get; }

    public byte[] WriteKey { get; }

    /// <summary>12 bytes, or 4 (the implicit salt) for TLS 1.2 AES-GCM.</summary>
    public byte[] ReadIv { get; }

    public byte[] WriteIv { get; }

    /// <summary>TLS 1.3 client application traffic secret of the current epoch; empty for TLS 1.2.</summary>
    public byte[] ReadSecret { get; }

    /// <summary>TLS 1.3 server application traffic secret of the current epoch; empty for TLS 1.2.</summary>
    public byte[] WriteSecret { get; }

    /// <summary>Sequence number of the next record to read in the current epoch.</summary>
    public ulong ReadSequence { get; set; }

    /// <summary>Sequence number of the next record to write in the current epoch.</summary>
    public ulong WriteSequence { get; set; }

    /// <summary>The front's libssl owed the client a KeyUpdate (TLS 1.3): the worker sends it before anything else.</summary>
    public bool KeyUpdatePending
    {
        get => _keyUpdatePending;
        set => _keyUpdatePending = !value || Suite.IsTls13 ? value : throw new InvalidOperationException("KeyUpdate exists only in TLS 1.3");
    }

    /// <summary>Largest plaintext per record we may send: 2^14, or 512..4096 after max_fragment_length.</summary>
    public int MaxPlaintext { get; }

    /// <summary>
    /// TLS 1.3 server state from the application traffic secrets (as logged by the keylog callback after any KeyUpdates).
    /// </summary>
    public static TlsSessionState FromTls13(
        ushort cipherSuite, ReadOnlySpan<byte> clientTrafficSecret, ReadOnlySpan<byte> serverTrafficSecret,
        ulong readSequence, ulong writeSequence, bool keyUpdatePending = false, int maxPlaintext = TlsRecordLimits.MaxPlaintext)
    {
        TlsCipherSuiteInfo suite = GetSuite(cipherSuite, TlsCipherSuiteInfo.Tls13);
        CheckLength(clientTrafficSecret, suite.HashLength, nameof(clientTrafficSecret));
        CheckLength(serverTrafficSecret, suite.HashLength, nameof(serverTrafficSecret));
        var state = new TlsSessionState(suite, CheckMaxPlaintext(maxPlaintext))
        {
            ReadSequence = readSequence,
            WriteSequence = writeSequence,
            KeyUpdatePending = keyUpdatePending,
        };
        clientTrafficSecret.CopyTo(state.ReadSecret);
        serverTrafficSecret.CopyTo(state.WriteSecret);
        TlsKeySchedule.DeriveTls13Keys(suite, state.ReadSecret, state.ReadKey, state.ReadIv);
        TlsKeySchedule.DeriveTls13Keys(suite, state.WriteSecret, state.WriteKey, state.WriteIv);
        return state;
    }

    /// <summary>TLS 1.2 server state: the key block is expanded from the 48-byte master secret and the two 32-byte randoms.</summary>
    public static TlsSessionState FromTls12(
        ushort cipherSuite, ReadOnlySpan<byte> masterSecret, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom,
        ulong readSequence, ulong writeSequence, int maxPlaintext = TlsRecordLimits.MaxPlaintext)
    {
        TlsCipherSuiteInfo suite = GetSuite(cipherSuite, TlsCipherSuiteInfo.Tls12);
        CheckLength(masterSecret, 48, nameof(masterSecret));
        CheckLength(clientRandom, 32, nameof(clientRandom));
        CheckLength(serverRandom, 32, nameof(serverRandom));
        var state = new TlsSessionState(suite, CheckMaxPlaintext(maxPlaintext))
        {
            ReadSequence = readSequence,
            WriteSequence = writeSequence,
        };
        TlsKeySchedule.DeriveTls12Keys(suite, masterSecret, clientRandom, serverRandom,
            clientKey: state.ReadKey, serverKey: state.WriteKey, clientIv: state.ReadIv, serverIv: state.WriteIv);
        return state;
    }

    /// <summary>
    /// A state from explicit keys (tests, and the deserializer). Secrets must be empty for TLS 1.2.
    /// Throws ArgumentException when a length does not match the suite.
    /// </summary>
    public static TlsSessionState Create(
        ushort protocolVersion, ushort cipherSuite,
        ReadOnlySpan<byte> readKey, ReadOnlySpan<byte> readIv, ReadOnlySpan<byte> writeKey, ReadOnlySpan<byte> writeIv,
        ReadOnlySpan<byte> readSecret, ReadOnlySpan<byte> writeSecret,
        ulong readSequence, ulong writeSequence, bool keyUpdatePending, int maxPlaintext)
    {
        TlsCipherSuiteInfo suite = GetSuite(cipherSuite, protocolVersion);
        CheckLength(readKey, suite.KeyLength, nameof(readKey));
        CheckLength(writeKey, suite.KeyLength, nameof(writeKey));
        CheckLength(readIv, suite.IvLength, nameof(readIv));
        CheckLength(writeIv, suite.IvLength, nameof(writeIv));
        CheckLength(readSecret, suite.TrafficSecretLength, nameof(readSecret));
        CheckLength(writeSecret, suite.TrafficSecretLength, nameof(writeSecret));
        if (keyUpdatePending && !suite.IsTls13) throw new ArgumentException("KeyUpdate exists only in TLS 1.3", nameof(keyUpdatePending));
        var state = new TlsSessionState(suite, CheckMaxPlaintext(maxPlaintext))
        {
            ReadSequence = readSequence,
            WriteSequence = writeSequence,
            KeyUpdatePending = keyUpdatePending,
        };
        readKey.CopyTo(state.ReadKey);
        writeKey.CopyTo(state.WriteKey);
        readIv.CopyTo(state.ReadIv);
        writeIv.CopyTo(state.WriteIv);
        readSecret.CopyTo(state.ReadSecret);
        writeSecret.CopyTo(state.WriteSecret);
        return state;
    }

    /// <summary>Zeroes every key, IV and secret. The state is unusable afterwards.</summary>
    public void Wipe()
    {
        CryptographicOperations.ZeroMemory(ReadKey);
        CryptographicOperations.ZeroMemory(WriteKey);
        CryptographicOperations.ZeroMemory(ReadIv);
        CryptographicOperations.ZeroMemory(WriteIv);
        CryptographicOperations.ZeroMemory(ReadSecret);
        CryptographicOperations.ZeroMemory(WriteSecret);
    }

    public void Dispose() => Wipe();

    internal static bool IsValidMaxPlaintext(int value) =>
        value == TlsRecordLimits.MaxPlaintext || value is 512 or 1024 or 2048 or 4096;

    private static TlsCipherSuiteInfo GetSuite(ushort cipherSuite, ushort protocolVersion)
    {
        if (!TlsCipherSuiteInfo.TryGet(cipherSuite, out TlsCipherSuiteInfo suite))
            throw new ArgumentOutOfRangeException(nameof(cipherSuite), $"unsupported cipher suite 0x{cipherSuite:X4}");
        if (suite.ProtocolVersion != protocolVersion)
            throw new ArgumentException($"cipher suite 0x{cipherSuite:X4} does not belong to protocol 0x{protocolVersion:X4}");
        return suite;
    }

    private static int CheckMaxPlaintext(int maxPlaintext) =>
        IsValidMaxPlaintext(maxPlaintext) ? maxPlaintext : throw new ArgumentOutOfRangeException(nameof(maxPlaintext));

    private static void CheckLength(ReadOnlySpan<byte> value, int expected, string name)
    {
        if (value.Length != expected) throw new ArgumentException($"{name} must be {expected} bytes, not {value.Length}", name);
    }
}
