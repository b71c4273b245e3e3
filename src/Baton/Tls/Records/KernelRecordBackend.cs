using System.Buffers;
using System.Net.Sockets;
using Baton.IO;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// The kernel record backend (see <see cref="KernelTls"/>, which installs the keys first): the kernel seals and opens
/// the records, application data goes through plain sendmsg and recvmsg, control records carry their content type
/// in a TLS_GET_RECORD_TYPE / TLS_SET_RECORD_TYPE cmsg, and keys change with TLS_RX / TLS_TX.
/// <para>
/// Record counting: the kernel forms the records, so the write sequence the protocol's usage limits look at is an
/// upper bound: each sendmsg of n bytes makes ceil(n / 2^14) records (it ends its last record, no MSG_MORE), counted
/// from the state's WriteSequence. The read sequence is the kernel's alone and is not maintained.
/// </para>
/// The backend owns the socket: closing it closes the socket.
/// </summary>
internal sealed partial class KernelRecordBackend : RecordBackend
{
    // Control records and full socket buffers wait for writability here; .NET offers no asynchronous wait for it.
    private static readonly Lazy<SocketPoller> s_writablePoller = new(() => new SocketPoller());

    private readonly Socket _socket;
    private readonly TlsSessionState _state;
    private readonly TlsCipherSuiteInfo _suite;

    /// <param name="socket">A socket whose TLS_RX and TLS_TX keys are installed.</param>
    /// <param name="state">The session the keys came from; for TLS 1.2 it is wiped at once (no key ever changes).</param>
    public KernelRecordBackend(Socket socket, TlsSessionState state)
    {
        _socket = socket;
        _state = state;
        _suite = state.Suite;
        _peek = new PeekEventArgs(_probe);
        if (!_suite.IsTls13) state.Wipe(); // the kernel's copy is the only one needed
    }

    public override bool ResetByPeer => _resetByPeer;

    /// <summary>The kernel stops decrypting after a record that starts a KeyUpdate, until TLS_RX has the next key.</summary>
    public override bool KeyUpdateInOneRecord => true;

    public override string? InstallReadKey() =>
        Install(Interop.Libc.TLS_RX, _state.ReadKey, _state.ReadIv, _state.ReadSequence, "TLS_RX");

    public override string? InstallWriteKey() =>
        Install(Interop.Libc.TLS_TX, _state.WriteKey, _state.WriteIv, _state.WriteSequence, "TLS_TX");

    private string? Install(int direction, byte[] key, byte[] iv, ulong sequence, string name)
    {
        int errno = KernelTls.InstallKeys(_socket.SafeHandle, direction, _suite, key, iv, sequence);
        return errno == 0 ? null : $"setsockopt({name}) failed: {KernelTls.Describe(errno)}";
    }

    /// <summary>A write in progress returns its own gather buffer (EndWrite); the state is the stream's to wipe.</summary>
    /// <summary>
    /// The kernel holds the sequence numbers; reading them back (getsockopt TLS_TX/TLS_RX) is not verified on a TLS
    /// kernel yet, so a kernel-TLS connection is not handed back: it is closed at a request boundary instead.
    /// </summary>
    public override string? DetachRefusal => "kernel TLS connections are not handed back (sequence numbers not read back from the kernel)";

    public override void Release(bool readPending)
    {
        _released = true;
        if (s_writablePoller.IsValueCreated) s_writablePoller.Value.Forget(_socket.SafeHandle);
        // A receive still pending (a misuse) may come back to the control buffer: that case clears and drops it.
        byte[] control = Interlocked.Exchange(ref _controlBuffer, []);
        if (!readPending && control.Length > 0) ArrayPool<byte>.Shared.Return(control, clearArray: true);
        else Array.Clear(control);
    }

    public override void Close()
    {
        _socket.Dispose();
        _peek.Dispose();
    }

    private static IOException ErrnoIOException(string call, int errno) =>
        new($"{call} on the kernel TLS socket failed: {KernelTls.Describe(errno)}", Interop.ErrnoException(call, errno));
}
