using System.Net;
using System.Net.Sockets;
using Baton.Channel;
using Baton.Configuration;
using Baton.IO;
using Baton.Tls;
using Baton.Tls.Records;
using Baton.Tls.Session;

namespace Baton.Worker;

/// <summary>
/// One client connection handed to this worker. <see cref="OpenAsync"/> gives the application a
/// plaintext duplex stream: in passthrough mode after the worker's own TLS handshake, in handoff
/// mode by continuing the front's TLS session. Disposing it tells the front the connection ended.
/// </summary>
internal sealed partial class WorkerConnection : IAsyncDisposable
{
    private readonly ConnectionFacts _facts;
    private readonly HandedOffSocket _socket;
    private readonly TlsServerContext? _tls;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Action<ulong> _closed;
    private readonly IReadOnlyList<ClientCertificatePolicy> _clientCertificates;
    private readonly TlsSessionState? _state;
    private readonly TlsSessionStateError _stateError;
    private TlsStream? _stream;
    private int _disposed;
    /// <summary>1 while this connection holds its reference on <see cref="_tls"/> (taken at receipt, given back once its SSL exists).</summary>
    private int _holdsContext;

    /// <param name="tlsState">
    /// The serialized session (handoff mode) inside the channel's receive buffer, which the listener wipes and reuses
    /// after this message: it is parsed here, so the keys are copied once, into the state the record layer then owns.
    /// </param>
    /// <param name="clientCertificates">Passthrough: the pool's client-certificate settings, of which the facts name the one to apply.</param>
    internal WorkerConnection(
        ulong id, ConnectionFacts facts, ReadOnlySpan<byte> tlsState, HandedOffSocket socket, TlsServerContext? tls, TimeSpan handshakeTimeout,
        Action<ulong> closed, WorkerListener? handbacks = null, IReadOnlyList<ClientCertificatePolicy>? clientCertificates = null)
    {
        _clientCertificates = clientCertificates ?? [];
        Id = id;
        _facts = facts;
        // An unusable state fails the connection when it is opened, like any other TLS failure.
        if (facts.Mode == HandoffMode.Handoff)
            TlsSessionState.TryRead(tlsState, out _state, out _stateError);
        _socket = socket;
        _tls = tls;
        // A reload may replace and dispose the context before this connection is opened.
        if (tls is not null)
        {
            tls.AddRef();
            _holdsContext = 1;
        }
        _handshakeTimeout = handshakeTimeout;
        _closed = closed;
        _handbacks = handbacks;
    }

    public ulong Id { get; }
    public string Pool => _facts.Pool;
    public HandoffMode Mode => _facts.Mode;

    /// <summary>The client, from the PROXY header when the listener requires one, else the TCP peer.</summary>
    public IPEndPoint? RemoteEndPoint => _facts.RemoteEndPoint;
    public IPEndPoint? LocalEndPoint => _facts.LocalEndPoint;

    /// <summary>Passthrough: why the handshake refused the client's certificate, once <see cref="OpenAsync"/> failed over it.</summary>
    public ClientCertificateRefusal? ClientCertificateRefusal => (_stream as OpenSslStream)?.ClientCertificateRefusal;

    /// <summary>The underlying socket (to shut it down; the TLS stream owns reading and writing).</summary>
    public HandedOffSocket Socket => _socket;

    /// <summary>
    /// Runs or resumes TLS and returns the plaintext stream, which says what was negotiated; throws when the
    /// client fails the handshake or the front's session state is unusable.
    /// </summary>
    public async Task<TlsStream> OpenAsync(CancellationToken cancellationToken)
    {
        if (_facts.Mode == HandoffMode.Passthrough)
        {
            int policy = _facts.ClientCertificatePolicy;
            OpenSslStream tls;
            try
            {
                if (policy > _clientCertificates.Count)
                    throw new InvalidDataException($"the front asked for client-certificate setting {policy}; this worker has {_clientCertificates.Count}");
                tls = new OpenSslStream(_socket, _tls!, clientCertificates: policy == 0 ? null : _clientCertificates[policy - 1]);
            }
            finally
            {
                // The SSL references the context itself from here on.
                ReleaseContext();
            }
            _stream = tls;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_handshakeTimeout);
            try
            {
                await tls.AuthenticateAsServerAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (System.Security.Authentication.AuthenticationException) when (tls.ClientCertificateRefusal is not null)
            {
                await LingeringClose.DrainAsync(() => _socket.Shutdown(SocketShutdown.Send),
                    (buffer, token) => _socket.ReadAsync(buffer, token)).ConfigureAwait(false);
                throw;
            }
            tls.ServerName ??= _facts.ServerName;
            return tls;
        }
        if (_state is null)
            throw new InvalidDataException($"the front's TLS session state is unusable: {_stateError}");
        // Kernel TLS where the kernel offers it for this session, else the user-space record layer; either takes
        // the state over. Both read the initial plaintext in place: the facts are wiped when the connection ends.
        // A connection that may be handed back keeps its session in user space: only that layer can give it back.
        TlsStream records = (MayHandBack ? null : KernelTls.TryEnable(_socket.Handle, _socket.DetachToSocket, _state, _facts.InitialData, _facts.InitialCiphertext, out _))
            ?? new TlsRecordStream(_socket, _state, _facts.InitialData, _facts.InitialCiphertext);
        records.ServerName = _facts.ServerName;
        records.ApplicationProtocol = _facts.NegotiatedAlpn;
        records.ClientCertificateChain = _facts.ClientCertificateChain;
        _stream = records;
        return records;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_stream is not null)
            await _stream.DisposeAsync().ConfigureAwait(false);
        else
            _socket.Dispose();
        // The stream wiped the state it took over; wiping again is harmless and covers a connection never opened.
        _state?.Dispose();
        _facts.Wipe();
        ReleaseContext();
        _closed(Id);
    }

    private void ReleaseContext()
    {
        if (Interlocked.Exchange(ref _holdsContext, 0) == 1)
            _tls!.Release();
    }
}
