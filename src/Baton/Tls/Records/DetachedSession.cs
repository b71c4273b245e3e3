using System.Security.Cryptography;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// A record layer taken off its connection at a quiescent point (<see cref="TlsRecordStream.Detach"/>): the session as
/// it is now (keys and secrets after every KeyUpdate since the handoff, both sequence numbers, a KeyUpdate still owed),
/// the plaintext the stream had opened but not returned, and the ciphertext it had read but not opened. Whoever
/// continues the session starts from exactly this. Owns the state and the plaintext: <see cref="Dispose"/> wipes them.
/// </summary>
internal sealed class DetachedSession : IDisposable
{
    internal DetachedSession(TlsSessionState state, byte[] unreadPlaintext, byte[] unreadCiphertext)
    {
        State = state;
        UnreadPlaintext = unreadPlaintext;
        UnreadCiphertext = unreadCiphertext;
    }

    /// <summary>SECRET: the traffic keys.</summary>
    public TlsSessionState State { get; }

    /// <summary>Sensitive: client plaintext the reader never took.</summary>
    public byte[] UnreadPlaintext { get; }

    /// <summary>Received bytes not yet opened (a partial record may end them): the next record layer reads them first.</summary>
    public byte[] UnreadCiphertext { get; }

    public void Dispose()
    {
        State.Dispose();
        CryptographicOperations.ZeroMemory(UnreadPlaintext);
    }
}
