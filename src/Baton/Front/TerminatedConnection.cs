using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Baton.Inspection;
using Baton.Tls;
using Baton.Tls.Handoff;

namespace Baton.Front;

/// <summary>
/// A connection whose TLS the front terminated (<see cref="HandoffTermination"/>): the live libssl stream with
/// its handoff capture, the first request head and the plaintext read so far. The caller routes on it, then
/// either answers and closes (<see cref="RespondAsync"/>) or exports the session (<see cref="Export"/>).
/// Disposing frees the SSL without writing anything and wipes the plaintext.
/// </summary>
internal sealed class TerminatedConnection : IDisposable
{
    private readonly HandoffCapture _capture;
    private readonly int _plaintextCapacity;
    private byte[]? _plaintext;
    /// <summary>The ciphertext the export took out of libssl (ciphertext: nothing to wipe).</summary>
    private byte[]? _exportedInput;
    private int _length;

    /// <summary>Takes over <paramref name="tls"/> (handshake not started) and attaches the capture to it.</summary>
    /// <param name="plaintextCapacity">The most plaintext the head reader may need: the head limit plus one record.</param>
    internal TerminatedConnection(OpenSslStream tls, int plaintextCapacity)
    {
        Tls = tls;
        _plaintextCapacity = plaintextCapacity;
        try
        {
            _capture = HandoffCapture.Attach(tls);
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    internal OpenSslStream Tls { get; }

    /// <summary>The first request head; null when ALPN chose h2 (its requests are inside frames, not read here).</summary>
    public HttpRequestHead? Head { get; internal set; }

    /// <summary>The SNI the handshake saw.</summary>
    public string? ServerName => Tls.ServerName;

    /// <summary>The hello's server name as routes see it (what the front's peek reads elsewhere), from the ClientHello callback.</summary>
    public string? RoutingName { get; internal set; }

    /// <summary>libssl has read the whole ClientHello (its callback ran).</summary>
    internal bool HelloRead { get; set; }

    /// <summary>The handshake's time bound, set when the hello was read (shorter under connection pressure).</summary>
    internal TimeSpan HandshakeTimeout { get; set; }

    /// <summary>The ClientHello's length, handshake header included, as libssl read it.</summary>
    internal int ClientHelloLength => _capture.ClientHelloLength;

    public string? ApplicationProtocol => Tls.ApplicationProtocol;

    /// <summary>
    /// The client certificate the handshake verified and the chain sent with it, for the worker; a leaf too large or not DER
    /// to hand on refuses the connection (reason client_certificate_invalid).
    /// </summary>
    public IReadOnlyList<byte[]> ClientCertificateChainForWorker() =>
        Channel.ClientCertificateChainCodec.Problem(Tls.ClientCertificateChain) is string problem
            ? throw new ConnectionRejectedException(ClientCertificateRefusal.Invalid, $"client certificate not handed on: {problem}")
            : Tls.ClientCertificateChain;

    /// <summary>The plaintext read from the client: the head and whatever followed it in the same records.</summary>
    public ReadOnlyMemory<byte> AlreadyRead => _plaintext.AsMemory(0, _length);

    /// <summary>Room after <see cref="AlreadyRead"/> for the next read; the buffer is rented on first use (h2 never reads).</summary>
    internal Memory<byte> ReadRoom(int count)
    {
        _plaintext ??= ArrayPool<byte>.Shared.Rent(_plaintextCapacity);
        return _plaintext.AsMemory(_length, count);
    }

    internal void Advance(int count) => _length += count;

    /// <summary>
    /// The session as a worker continues it, plus the records not yet decrypted. Refusals become the
    /// connection's <see cref="RejectReason.HandoffRefused"/>: nothing of the session leaves the front then.
    /// </summary>
    public HandoffExport Export()
    {
        try
        {
            HandoffExport export = _capture.Export();
            _exportedInput = export.UnprocessedCiphertext;
            return export;
        }
        catch (HandoffRefusedException ex)
        {
            throw new ConnectionRejectedException(RejectReason.HandoffRefused, ex.Message);
        }
    }

    /// <summary>The front's own answer (a short error page over TLS, then close_notify), bounded in time.</summary>
    public Task RespondAsync(int status) => WriteAndCloseAsync(Http1Response(status, ""));

    /// <summary>
    /// No worker can take the connection: 503 with <c>Retry-After: 1</c>, as HTTP/1.1 or, when ALPN chose h2, in
    /// HTTP/2 on the client's first stream (<see cref="Http2Unavailable"/>), then close_notify; close_notify alone when
    /// the connection was to be handed on before any request and no ALPN says it is HTTP.
    /// </summary>
    public async Task RespondUnavailableAsync()
    {
        if (Head is null && ApplicationProtocol is not ("h2" or "http/1.1"))
        {
            // Handed on without a request (FirstRequest none): the protocol may not be HTTP, so only close_notify.
            await WriteAndCloseAsync(ReadOnlyMemory<byte>.Empty).ConfigureAwait(false);
            return;
        }
        if (ApplicationProtocol != "h2")
        {
            await WriteAndCloseAsync(Http1Response(503, "Retry-After: 1\r\n")).ConfigureAwait(false);
            return;
        }
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            // The export took libssl's unread input for the worker; back it goes, for the front reads the request itself.
            if (_exportedInput is not null)
                Tls.RestoreUnprocessedInput(_exportedInput);
            await Http2Unavailable.AnswerAsync(Tls, bounded.Token).ConfigureAwait(false);
            await Tls.ShutdownAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone or silent; the log line says why it was closed.
        }
    }

    /// <summary>The front's own short answer (also over a handed-back session: HandbackDispatcher).</summary>
    internal static byte[] Http1Response(int status, string extraFields)
    {
        string reason = ReasonPhrase(status);
        string body = $"{status} {reason}\n";
        return Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n{extraFields}Connection: close\r\nServer: Baton\r\n\r\n{body}");
    }

    private async Task WriteAndCloseAsync(ReadOnlyMemory<byte> response)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            if (!response.IsEmpty)
                await Tls.WriteAsync(response, bounded.Token).ConfigureAwait(false);
            await Tls.ShutdownAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is already in the wrong, or gone; the log line says why it was closed.
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };

    public void Dispose()
    {
        _capture.Dispose();
        // leaveInnerStreamOpen: the SSL is freed without SSL_shutdown and the socket stays as it is.
        Tls.Dispose();
        byte[]? plaintext = Interlocked.Exchange(ref _plaintext, null);
        if (plaintext is not null)
        {
            CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, _length));
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }
}
