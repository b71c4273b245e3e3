using Baton.Tls.Session;







namespace Baton.Tls.Handoff;

/// <summary>
/// What the worker needs to continue a connection: the session (keys, sequence numbers, flags) and the raw bytes
/// the front received but libssl never processed (whole or partial records that follow the ones already read).
/// Disposing wipes the state's secrets; hand the state to a TlsRecordStream (which takes it over) instead.
/// </summary>
internal sealed class HandoffExport(TlsSessionState state, byte[] unprocessedCiphertext) : IDisposable
{
    public TlsSessionState State { get; } = state;

    /// <summary>Pass as the record stream's initial ciphertext; it precedes anything still to arrive on the socket.</summary>
    public byte[] UnprocessedCiphertext { get; } = unprocessedCiphertext;

    public void Dispose() => State.Dispose();
}
