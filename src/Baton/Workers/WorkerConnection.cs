using System.Net;
using System.Net.Sockets;
using Baton.Channel;
using Baton.Tls;
using Baton.Tls.Handoff;
using Baton.Tls.Records;

namespace Baton.Workers;

/// <summary>
/// One client connection handed to this worker. <see cref="OpenAsync"/> gives the application a
/// plaintext duplex stream: in passthrough mode after the worker's own TLS handshake, in handoff
/// mode by continuing the front's TLS session. Disposing it tells the front the connection ended.
/// </summary>
public sealed class WorkerConnection : IAsyncDisposable
{
    private readonly ConnectionFacts _facts;
    private readonly Socket _socket;
    private readonly TlsServerContext? _tls;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Action<ulong> _closed;
    private HandedOffSocketStream? _socketStream;
    private Stream? _stream;
    private int _disposed;

    internal WorkerConnection(ulong id, ConnectionFacts facts, Socket socket, TlsServerContext? tls, TimeSpan handshakeTimeout, Action<ulong> closed)
    {
        Id = id;
        _facts = facts;
        _socket = socket;
        _tls = tls;
        _handshakeTimeout = handshakeTimeout;
        _closed = closed;
    }

    public ulong Id { get; }
    public string Pool => _facts.Pool;
    public HandoffMode Mode => _facts.Mode;

    /// <summary>The client, from the PROXY header when the listener requires one, else the TCP peer.</summary>
    public IPEndPoint? RemoteEndPoint => _facts.RemoteEndPoint;
    public IPEndPoint? LocalEndPoint => _facts.LocalEndPoint;
    public string? ServerName { get; private set; }
    public string? ApplicationProtocol { get; private set; }
    public string? TlsProtocol { get; private set; }
    public string? CipherSuite { get; private set; }

    /// <summary>The underlying socket (for socket options; the stream owns reading and writing).</summary>
    public Socket Socket => _socket;

    /// <summary>True once a read found the connection reset by the client (the stream then reads as ended).</summary>
    internal bool ResetByPeer => _socketStream?.ResetByPeer ?? false;

    /// <summary>Runs or resumes TLS and returns the plaintext stream; throws when the client fails the handshake.</summary>
    public async Task<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        if (_facts.Mode == HandoffMode.Passthrough)
        {
            var tls = new OpenSslStream(_socketStream = new HandedOffSocketStream(_socket), _tls!);
            _stream = tls;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_handshakeTimeout);
            await tls.AuthenticateAsServerAsync(timeout.Token).ConfigureAwait(false);
            ServerName = tls.ServerName ?? _facts.ServerName;
            ApplicationProtocol = tls.NegotiatedApplicationProtocol;
            TlsProtocol = tls.ProtocolVersion;
            CipherSuite = tls.CipherSuiteName;
            return tls;
        }
        if (!TlsSessionState.TryRead(_facts.TlsState.Span, out TlsSessionState? state, out TlsSessionStateError error))
            throw new InvalidDataException($"the front's TLS session state is unusable: {error}");
        ServerName = _facts.ServerName;
        ApplicationProtocol = _facts.NegotiatedAlpn;
        TlsProtocol = TlsNames.Protocol(state!.ProtocolVersion);
        CipherSuite = TlsNames.CipherSuite(state.CipherSuite);
        // Kernel TLS where the kernel offers it for this session, else the user-space record layer.
        // Either reads the initial plaintext in place: the facts are wiped when the connection ends.
        _stream = KernelTls.TryEnable(_socket, state, _facts.InitialData, _facts.InitialCiphertext, out _)
            ?? new TlsRecordStream(_socketStream = new HandedOffSocketStream(_socket), state, _facts.InitialData, _facts.InitialCiphertext);
        return _stream;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_stream is not null)
            await _stream.DisposeAsync().ConfigureAwait(false);
        else
            _socket.Dispose();
        _facts.Wipe();
        _closed(Id);
    }
}
