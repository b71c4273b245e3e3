using System.Net.Sockets;
using Baton.IO;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// The worker's side of a handed-off TLS session whose record layer is the kernel's (see <see cref="KernelTls"/>):
/// application data goes through plain send and recvmsg; the kernel seals records (splitting at 2^14 bytes) and
/// opens them. Control records arrive with a TLS_GET_RECORD_TYPE cmsg and are handled here like
/// <see cref="TlsRecordStream"/> handles them: TLS 1.3 KeyUpdate (new read key installed with TLS_RX; answered with
/// a KeyUpdate and a new TLS_TX key when requested), close_notify (reads return 0), fatal alerts (IOException),
/// TLS 1.2 renegotiation (no_renegotiation warning), anything else (unexpected_message and failure).
/// <para>
/// Reads return first the plaintext the front already read. One reader and one writer may run at the same time;
/// everything that writes (data, alerts, KeyUpdates and the TLS_TX key change that follows a KeyUpdate) is
/// serialized by one lock, so that no data record can slip between a KeyUpdate and the new write key.
/// </para>
/// <para>
/// AEAD usage limits: the kernel forms the records, so the stream counts bytes instead of records. TLS 1.3 sends a
/// KeyUpdate once 2^38 bytes (2^24 full records) were written under one key; TLS 1.2 AES-GCM, which cannot rekey,
/// fails writes past that point. The state's sequence numbers are not maintained: the kernel holds them.
/// </para>
/// The stream owns the socket and the state: disposing sends close_notify (if no write is in progress and the
/// socket buffer has room), wipes the state and closes the socket.
/// </summary>
internal sealed partial class KernelTlsStream : TlsStream
{
    internal const long UsageLimitBytes = 1L << 38;

    // Control records wait for room in the socket buffer here; .NET offers no asynchronous wait for writability.
    private static readonly Lazy<SocketPoller> s_writablePoller = new(() => new SocketPoller());

    private readonly Socket _socket;
    private readonly TlsSessionState _state;
    private readonly TlsCipherSuiteInfo _suite;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    /// <summary>Use <see cref="KernelTls.TryEnable"/>: the keys must already be installed on the socket.</summary>
    internal KernelTlsStream(Socket socket, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext)
    {
        _socket = socket;
        _state = state;
        _suite = state.Suite;
        _initialPlaintext = initialPlaintext;
        _keyUpdateOwed = state.KeyUpdatePending;
        // Records the front already wrote under this key count as full ones: an overestimate only rekeys sooner.
        _epochBytes = (long)Math.Min(state.WriteSequence, 1UL << 24) * TlsRecordLimits.MaxPlaintext;
        if (!_suite.IsTls13) state.Wipe(); // TLS 1.2 never derives new keys: the kernel's copy is the only one needed
    }

    /// <summary>IANA id of the session's cipher suite.</summary>
    public override ushort CipherSuite => _suite.Id;

    /// <summary>0x0303 or 0x0304.</summary>
    public override ushort ProtocolVersion => _suite.ProtocolVersion;

    /// <summary>Not detected yet: a reset fails the read with an IOException.</summary>
    public override bool ResetByPeer => false;

    /// <summary>Nothing to flush: every send forms and sends its records.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sends close_notify (once). The socket stays open until dispose.</summary>
    public override Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        SendAlertAsync(TlsAlertLevel.Warning, TlsAlertDescription.CloseNotify, cancellationToken);

    public override ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            SendCloseNotifyIfIdle();
            if (s_writablePoller.IsValueCreated) s_writablePoller.Value.Forget(_socket.SafeHandle);
            _state.Wipe();
            _socket.Dispose();
        }
        base.Dispose(disposing);
    }

    private static IOException ErrnoIOException(string call, int errno) =>
        new($"{call} on the kernel TLS socket failed: {KernelTls.Describe(errno)}", Interop.ErrnoException(call, errno));
}
