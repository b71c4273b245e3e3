using System.Buffers;
using System.Security.Cryptography;
using Baton.Channel;
using Baton.Configuration;
using Baton.IO;
using Baton.Tls;
using Baton.Tls.Records;

namespace Baton.Worker;

/// <summary>
/// Handback for one connection: whether its requests may belong to other pools (a gate is needed), and giving the
/// session back to the front at a boundary. A handback that could not be sent leaves the connection with this worker,
/// which answers 503 on the detached session itself; one sent and never acknowledged is closed without a byte (the
/// front may have passed the session on: see <see cref="WorkerListener"/>'s handback).
/// </summary>
internal sealed partial class WorkerConnection
{
    private readonly WorkerListener? _handbacks;

    /// <summary>
    /// The session left this worker: acknowledged by the front, or sent and never acknowledged (the front may have passed
    /// it on). Either way this worker must not touch the socket again but to close its descriptor.
    /// </summary>
    public bool HandedBack { get; private set; }

    /// <summary>Handoff HTTP/1.1: the connection can go back to the front at a request boundary (a deploy drains it so).</summary>
    private bool CanHandBack =>
        _handbacks?.Routes is not null && _facts.Mode == HandoffMode.Handoff && _facts.Listener is not null && _facts.NegotiatedAlpn != "h2";

    /// <summary>
    /// ... and Host/path routes are configured: a later request may be another pool's, so the session stays in user space
    /// (a kernel-TLS one cannot be detached yet); without them kernel TLS wins and a deploy closes the connection instead.
    /// </summary>
    private bool MayHandBack => CanHandBack && _handbacks!.Routes!.NeedsRequest;

    /// <summary>Cancelled when the front drains this worker's generation (a deploy): see <see cref="WorkerListener.Draining"/>.</summary>
    public CancellationToken Draining => _handbacks?.Draining ?? CancellationToken.None;

    /// <summary>
    /// The pool a new connection for <paramref name="host"/> and <paramref name="path"/> would reach (its SNI the host, as a
    /// browser sends it), when this worker knows the routes; null otherwise. An HTTP/2 request whose pool is not this
    /// one came over a coalesced connection and is answered 421 (RFC 9110 §15.5.20).
    /// </summary>
    public string? PoolForRequest(string? host, string? path) =>
        _handbacks?.Routes is { } routes && _facts.Listener is string listener ? routes.SelectWithRequest(listener, host, host, path) : null;

    /// <summary>The gate for this connection's requests once it is open; null when every request stays here.</summary>
    public HandbackGate? CreateGate() =>
        CanHandBack && _stream is TlsRecordStream
            ? new HandbackGate(() => _handbacks!.Routes!, _facts.Listener!, _facts.ServerName, Pool, draining: Draining)
            : null;

    /// <summary>
    /// Sends the connection back with its session as it is now and the plaintext from the boundary on (<paramref name="held"/>
    /// first, then what the record layer had opened but not returned). True once the front took it: the caller then
    /// finishes its side without a byte on the socket. False: the front did not take it; this worker has answered 503
    /// (never sent) or closed its copy without writing (sent, never acknowledged).
    /// </summary>
    public async Task<bool> HandBackAsync(DetachedSession detached, ReadOnlyMemory<byte> held)
    {
        // Wiped on every path, an exception's too: it holds the traffic keys and the unserved plaintext.
        using DetachedSession _ = detached;
        byte[] plaintext = [.. held.Span, .. detached.UnreadPlaintext];
        var facts = new ConnectionFacts
        {
            Mode = HandoffMode.Handoff,
            Pool = _facts.Pool,
            Listener = _facts.Listener,
            RemoteEndPoint = _facts.RemoteEndPoint,
            LocalEndPoint = _facts.LocalEndPoint,
            ServerName = _facts.ServerName,
            NegotiatedAlpn = _facts.NegotiatedAlpn,
            TlsStateLength = detached.State.EncodedLength,
            InitialData = plaintext,
            InitialCiphertext = detached.UnreadCiphertext,
            // The front verified it in the handshake: the next worker's app sees the same certificate.
            ClientCertificateChain = _facts.ClientCertificateChain,
        };
        byte[] body = ArrayPool<byte>.Shared.Rent(facts.EncodedLengthUpperBound);
        int length = 0;
        HandbackOutcome outcome = HandbackOutcome.NotSent;
        try
        {
            // Over the channel's bounds (a flood of pipelined requests): no handback, the worker answers.
            if (plaintext.Length <= ConnectionFacts.MaxInitialDataLength && detached.UnreadCiphertext.Length <= ConnectionFacts.MaxInitialCiphertextLength)
            {
                length = facts.WriteTo(body, out Span<byte> state);
                detached.State.Write(state);
                outcome = await _handbacks!.HandBackAsync(Id, body.AsMemory(0, length), _socket.Handle).ConfigureAwait(false);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(body);
            CryptographicOperations.ZeroMemory(plaintext);
        }
        HandedBack = outcome != HandbackOutcome.NotSent;
        if (outcome == HandbackOutcome.NotSent)
            await AnswerUnavailableAsync(detached).ConfigureAwait(false);
        return outcome == HandbackOutcome.Taken;
    }

    /// <summary>The front did not take the connection: 503 over the detached session, then close_notify (bounded in time).</summary>
    private async Task AnswerUnavailableAsync(DetachedSession detached)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        // The state moves to the new stream, which wipes it; the detached session's copy is the same object.
        await using var tls = new TlsRecordStream(_socket, detached.State, default, detached.UnreadCiphertext, leaveInnerStreamOpen: true);
        try
        {
            await tls.WriteAsync(UnavailableResponse, bounded.Token).ConfigureAwait(false);
            await tls.ShutdownAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone or not reading.
        }
    }

    private static readonly byte[] UnavailableResponse =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nRetry-After: 1\r\nConnection: close\r\nServer: Baton\r\n\r\n503 Service Unavailable\n"u8.ToArray();
}
