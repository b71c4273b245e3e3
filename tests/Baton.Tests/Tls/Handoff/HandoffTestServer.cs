using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Tls.Handoff;

/// <summary>What the front exported for one connection.</summary>
internal sealed record HandoffInfo(
    ushort Version, ushort Suite, ulong ReadSequence, ulong WriteSequence, bool KeyUpdatePending,
    int UnprocessedBytes, int InitialPlaintextBytes, int MaxPlaintext, bool Resumed, int ReadKeyUpdates, int WriteKeyUpdates);

/// <summary>A failure on one side: the front refused or failed, or the worker's record layer failed.</summary>
internal sealed record HandoffFailure(bool InWorker, Exception Error);

/// <summary>
/// The handoff recipe in one process, on real sockets: per connection an <see cref="OpenSslStream"/> with a
/// <see cref="HandoffCapture"/> runs the handshake and reads the first request head, the session is exported, the
/// SSL freed, and a <see cref="TlsRecordStream"/> over a new NetworkStream on the same socket answers that request
/// and every following one ("path=/x n=k" bodies) until the client closes.
/// </summary>
internal sealed class HandoffTestServer : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private const int MaxHead = 64 * 1024;

    private readonly TlsServerContext _context;
    private readonly Channel<HandoffInfo> _handoffs = System.Threading.Channels.Channel.CreateUnbounded<HandoffInfo>();
    private readonly Channel<HandoffFailure> _failures = System.Threading.Channels.Channel.CreateUnbounded<HandoffFailure>();
    private readonly LoopbackServer _server;

    public HandoffTestServer(TlsServerContext context)
    {
        _context = context;
        _server = new LoopbackServer(ServeAsync);
    }

    public int Port => _server.Port;

    /// <summary>
    /// Added to the exported read/write sequence numbers before the worker takes the state (negative controls: a
    /// wrong number must break a real client, or the tests that pass could not fail).
    /// </summary>
    public int ReadSkew { get; init; }

    public int WriteSkew { get; init; }

    /// <summary>Buffer size of the front's reads of the first head; below a record's size it leaves plaintext in libssl.</summary>
    public int FrontReadSize { get; init; } = 16 * 1024;

    public int ConnectionCount => _server.ConnectionCount;

    public static TlsServerContext CreateContext(SelfSignedCertificate certificate, Action<TlsServerOptions>? configure = null)
    {
        var options = new TlsServerOptions { ContextSetup = HandoffCapture.InstallCallbacks };
        options.Certificates.Add(TestCertificates.ToTlsCertificate(certificate));
        configure?.Invoke(options);
        return TlsServerContext.Create(options);
    }

    public async Task<HandoffInfo> NextHandoffAsync() => await _handoffs.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    public async Task<HandoffFailure> NextFailureAsync() => await _failures.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    public bool HasFailures => _failures.Reader.Count > 0;

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _context.Dispose();
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        socket.NoDelay = true;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(Deadline);
        (HandoffExport export, byte[] plaintext, int plaintextLength)? front;
        try
        {
            front = await RunFrontAsync(socket, timeout.Token);
        }
        catch (Exception e)
        {
            _failures.Writer.TryWrite(new HandoffFailure(InWorker: false, e));
            socket.Dispose();
            return;
        }
        var (export, plaintext, length) = front.Value;
        var worker = new TlsRecordStream(new NetworkStream(socket, ownsSocket: true), export.State,
            plaintext.AsMemory(0, length), export.UnprocessedCiphertext);
        try
        {
            await ServeRequestsAsync(worker, timeout.Token);
        }
        catch (Exception e)
        {
            _failures.Writer.TryWrite(new HandoffFailure(InWorker: true, e));
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    /// <summary>The front: handshake, first head, export; then the SSL is freed without a shutdown.</summary>
    private async Task<(HandoffExport, byte[], int)> RunFrontAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var tls = new OpenSslStream(new NetworkStream(socket, ownsSocket: false), _context, leaveInnerStreamOpen: true);
        using HandoffCapture capture = HandoffCapture.Attach(tls);
        await tls.AuthenticateAsServerAsync(cancellationToken);
        byte[] plaintext = new byte[MaxHead];
        int length = 0;
        while (IndexOfHeadEnd(plaintext.AsSpan(0, length)) < 0)
        {
            if (length == plaintext.Length) throw new InvalidOperationException("head too large");
            int read = await tls.ReadAsync(plaintext.AsMemory(length, Math.Min(FrontReadSize, plaintext.Length - length)), cancellationToken);
            if (read == 0) throw new EndOfStreamException("client closed before a full head");
            length += read;
        }
        HandoffExport export = capture.Export();
        TlsSessionState s = export.State;
        s.ReadSequence = checked((ulong)((long)s.ReadSequence + ReadSkew));
        s.WriteSequence = checked((ulong)((long)s.WriteSequence + WriteSkew));
        _handoffs.Writer.TryWrite(new HandoffInfo(s.ProtocolVersion, s.CipherSuite, s.ReadSequence, s.WriteSequence, s.KeyUpdatePending,
            export.UnprocessedCiphertext.Length, length, s.MaxPlaintext, tls.IsResumed,
            capture.Read.KeyUpdates, capture.Written.KeyUpdates));
        return (export, plaintext, length);
    }

    /// <summary>The worker: answers each complete head with its path and request number, until the client closes.</summary>
    private static async Task ServeRequestsAsync(TlsRecordStream worker, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxHead + 16 * 1024];
        int length = 0, served = 0;
        while (true)
        {
            int end;
            while ((end = IndexOfHeadEnd(buffer.AsSpan(0, length))) >= 0)
            {
                string head = Encoding.ASCII.GetString(buffer, 0, end);
                string path = head.Split(' ', 3)[1];
                string body = $"path={path} n={++served}\n";
                string response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n{body}";
                await worker.WriteAsync(Encoding.ASCII.GetBytes(response), cancellationToken);
                buffer.AsSpan(end + 4, length - end - 4).CopyTo(buffer);
                length -= end + 4;
            }
            if (length == buffer.Length) throw new InvalidOperationException("head too large");
            int read = await worker.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0) return;
            length += read;
        }
    }

    private static int IndexOfHeadEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);
}
