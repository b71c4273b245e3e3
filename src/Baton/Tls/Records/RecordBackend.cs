using System.Buffers;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

internal enum ReceiveOutcome : byte
{
    /// <summary>A decrypted record: its content type and content.</summary>
    Record,

    /// <summary>End of stream (at a record boundary, or a reset: see <see cref="RecordBackend.ResetByPeer"/>).</summary>
    Ended,

    /// <summary>A zero-byte read is satisfied: application data is waiting (or the end of the stream is).</summary>
    Ready,

    /// <summary>The backend refused what arrived (bad header, decryption failed): fail with the alert.</summary>
    Refused,
}

/// <summary>What a backend's receive produced. The content stays valid until the next receive.</summary>
internal readonly struct ReceivedRecord
{
    private ReceivedRecord(ReceiveOutcome outcome, TlsContentType type, Memory<byte> content, bool inDestination,
        TlsAlertDescription alert, string? reason)
    {
        Outcome = outcome;
        Type = type;
        Content = content;
        InDestination = inDestination;
        Alert = alert;
        Reason = reason;
    }

    public static ReceivedRecord Ended => new(ReceiveOutcome.Ended, default, default, false, default, null);

    public static ReceivedRecord Ready => new(ReceiveOutcome.Ready, default, default, false, default, null);

    public ReceiveOutcome Outcome { get; }

    public TlsContentType Type { get; }

    public Memory<byte> Content { get; }

    /// <summary>The content is already in the caller's buffer (kernel TLS reads application data straight into it).</summary>
    public bool InDestination { get; }

    public TlsAlertDescription Alert { get; }

    public string? Reason { get; }

    public static ReceivedRecord Record(TlsContentType type, Memory<byte> content, bool inDestination = false) =>
        new(ReceiveOutcome.Record, type, content, inDestination, default, null);

    public static ReceivedRecord Refused(TlsAlertDescription alert, string reason) =>
        new(ReceiveOutcome.Refused, default, default, false, alert, reason);
}

/// <summary>
/// Moves the records of a <see cref="TlsRecordStream"/>: receives and opens them, seals or hands the kernel the ones
/// the stream writes, installs keys. It decides nothing about the protocol (that is <see cref="RecordProtocol"/>'s)
/// apart from its own framing: record headers and decryption.
/// <para>
/// Writing: the stream holds its write lock from <see cref="BeginWrite"/> to <see cref="EndWrite"/>, and writes
/// records in order with <see cref="WriteDataAsync"/> and <see cref="WriteControlAsync"/>; they are on the wire
/// after <see cref="FlushAsync"/>. Every write counts its records in the state's WriteSequence.
/// </para>
/// </summary>
internal abstract class RecordBackend
{
    /// <summary>True once a receive ended because the peer reset the connection.</summary>
    public abstract bool ResetByPeer { get; }

    /// <summary>The backend cannot follow a KeyUpdate split across records (see <see cref="RecordProtocol.RecordProtocol(TlsSessionState, bool)"/>).</summary>
    public virtual bool KeyUpdateInOneRecord => false;

    /// <summary>
    /// The next record. Application data may be placed in <paramref name="destination"/> (then InDestination is set);
    /// an empty destination only waits until application data is ready.
    /// </summary>
    public abstract ValueTask<ReceivedRecord> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>Installs the state's read key (after the peer's KeyUpdate); returns why it failed, or null.</summary>
    public abstract string? InstallReadKey();

    /// <summary>Installs the state's write key (after our KeyUpdate went out); returns why it failed, or null.</summary>
    public abstract string? InstallWriteKey();

    /// <summary>Starts a write of <paramref name="plaintextLength"/> bytes of data plus a few control records.</summary>
    public abstract void BeginWrite(long plaintextLength);

    /// <summary>How many bytes of <paramref name="data"/> the next <see cref="WriteDataAsync"/> should take.</summary>
    public abstract int NextChunk(in ReadOnlySequence<byte> data);

    public abstract ValueTask WriteDataAsync(ReadOnlySequence<byte> chunk, CancellationToken cancellationToken);

    /// <summary>
    /// One control record. With <paramref name="bestEffort"/> a backend that can tell does not wait for room in the
    /// socket buffer and returns false instead (nothing was written).
    /// </summary>
    public abstract ValueTask<bool> WriteControlAsync(
        TlsContentType type, ReadOnlyMemory<byte> content, bool bestEffort, CancellationToken cancellationToken);

    public abstract ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>Ends the write that <see cref="BeginWrite"/> started, also after a failure: returns its buffers. Harmless without a BeginWrite.</summary>
    public abstract void EndWrite();

    /// <summary>
    /// Handback: the bytes received but not yet opened, taken out of the backend (it must not read again), or null when
    /// this backend cannot give its session back (<see cref="DetachRefusal"/> says why). Called with no read or write in progress.
    /// </summary>
    public virtual byte[]? TakeUnreadCiphertext() => null;

    /// <summary>Why <see cref="TakeUnreadCiphertext"/> refuses; null for a backend that can detach.</summary>
    public virtual string? DetachRefusal => "this record layer cannot give its session back";

    /// <summary>Wipes keys and clears buffers. <paramref name="readPending"/>: a receive may still be using them.</summary>
    public abstract void Release(bool readPending);

    /// <summary>Closes the transport (after <see cref="Release"/>).</summary>
    public abstract void Close();

    public virtual ValueTask CloseAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
