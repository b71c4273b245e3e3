using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Baton.Tls.Handoff;

/// <summary>
/// The front's per-connection record of what libssl did, kept so the session can be exported to a worker:
/// record counts and sizes per direction since each direction's application keys started, KeyUpdates, and the
/// TLS 1.3 traffic secrets from the keylog callback. Attach it before the handshake; the context must have been
/// created with <see cref="InstallCallbacks"/> as its <see cref="TlsServerOptions.ContextSetup"/> so the callbacks that feed it are installed.
/// <para>
/// Threading: the callbacks run inside SSL_* calls, which <see cref="OpenSslStream"/> makes under its SSL lock;
/// <see cref="Export"/> and <see cref="Dispose"/> take the same lock, so the fields need no other synchronization.
/// </para>
/// </summary>
internal sealed partial class HandoffCapture : IDisposable
{
    private const int MaxSecretLength = 48;

    private readonly OpenSslStream _stream;
    private readonly byte[] _clientTrafficSecret = new byte[MaxSecretLength];
    private readonly byte[] _serverTrafficSecret = new byte[MaxSecretLength];
    private GCHandle _self;
    private int _clientTrafficSecretLength;
    private int _serverTrafficSecretLength;
    private DirectionState _read;
    private DirectionState _write;
    private bool _disposed;

    private HandoffCapture(OpenSslStream stream) => _stream = stream;

    /// <summary>
    /// Bytes of the last ClientHello message libssl read, its 4-byte header included. The msg callback sees it whole
    /// before libssl processes it, so the ClientHello callback can bound it as the front's peek does.
    /// </summary>
    internal int ClientHelloLength { get; private set; }

    /// <summary>Records received from the client, as counted by the msg callback.</summary>
    internal DirectionState Read => _read;

    /// <summary>Records sent to the client, as counted by the msg callback.</summary>
    internal DirectionState Written => _write;

    /// <summary>Starts capturing on a connection whose handshake has not started (SSL ex_data index 0).</summary>
    public static HandoffCapture Attach(OpenSslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.IsAuthenticated) throw new InvalidOperationException("Attach the handoff capture before the handshake.");
        var capture = new HandoffCapture(stream);
        capture._self = GCHandle.Alloc(capture);
        lock (stream.SslLock)
        {
            ObjectDisposedException.ThrowIf(stream.SslHandle.IsClosed, stream);
            if (Interop.Ssl.SslSetExData(stream.SslHandle, 0, GCHandle.ToIntPtr(capture._self)) != 1)
            {
                capture._self.Free();
                throw Interop.Crypto.CreateOpenSslException("SSL_set_ex_data");
            }
        }
        return capture;
    }

    /// <summary>Detaches from the SSL (if it still exists) and wipes the captured secrets.</summary>
    public void Dispose()
    {
        lock (_stream.SslLock)
        {
            if (_disposed) return;
            _disposed = true;
            // After this no callback can reach the object, so the GCHandle can go.
            if (!_stream.SslHandle.IsClosed) Interop.Ssl.SslSetExData(_stream.SslHandle, 0, 0);
            WipeSecrets();
        }
        _self.Free();
    }

    private void WipeSecrets()
    {
        CryptographicOperations.ZeroMemory(_clientTrafficSecret);
        CryptographicOperations.ZeroMemory(_serverTrafficSecret);
        _clientTrafficSecretLength = 0;
        _serverTrafficSecretLength = 0;
    }

    /// <summary>One direction's record accounting.</summary>
    internal partial struct DirectionState
    {
        /// <summary>The direction uses application traffic keys (TLS 1.3 after Finished, TLS 1.2 after ChangeCipherSpec).</summary>
        public bool EpochStarted;

        /// <summary>Records under the current keys so far = sequence number of the next record.</summary>
        public ulong Sequence;

        /// <summary>TLS 1.3 KeyUpdates since the application epoch started (the secret is advanced this many times).</summary>
        public int KeyUpdates;

        /// <summary>Every record since the connection started, header included (5 + length each).</summary>
        public ulong RecordBytes;

        public ulong Records;
    }
}
