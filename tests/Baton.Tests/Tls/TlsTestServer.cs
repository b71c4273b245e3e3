using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Tls;

internal sealed record HandshakeInfo(
    string Version, int VersionNumber, string Suite, ushort SuiteId, string? ServerName, string? Alpn, bool Resumed);

/// <summary>A loopback TCP server that runs <see cref="OpenSslStream"/> over each accepted NetworkStream.</summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TlsServerContext _context;
    private readonly Func<OpenSslStream, Task> _handler;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Channel<HandshakeInfo> _handshakes = System.Threading.Channels.Channel.CreateUnbounded<HandshakeInfo>();
    private readonly Channel<Exception> _failures = System.Threading.Channels.Channel.CreateUnbounded<Exception>();
    private readonly LoopbackServer _server;

    public TlsTestServer(TlsServerContext context, Func<OpenSslStream, Task> handler, TimeSpan? handshakeTimeout = null)
    {
        _context = context;
        _handler = handler;
        _handshakeTimeout = handshakeTimeout ?? Deadline;
        _server = new LoopbackServer(ServeAsync);
    }

    public int Port => _server.Port;

    public async Task<HandshakeInfo> NextHandshakeAsync() => await _handshakes.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    public async Task<Exception> NextFailureAsync() => await _failures.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    public bool HasFailures => _failures.Reader.Count > 0;

    /// <summary>Echoes until the peer closes, then sends close_notify.</summary>
    public static async Task Echo(OpenSslStream tls)
    {
        byte[] buffer = new byte[16 * 1024];
        int read;
        while ((read = await tls.ReadAsync(buffer)) > 0) await tls.WriteAsync(buffer.AsMemory(0, read));
        await tls.ShutdownAsync();
    }

    /// <summary>Reads one request head and answers a fixed HTTP/1.1 response.</summary>
    public static async Task AnswerHttp(OpenSslStream tls)
    {
        var head = new StringBuilder();
        byte[] buffer = new byte[16 * 1024];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await tls.ReadAsync(buffer);
            if (read == 0) return;
            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        string body = $"hello from baton over {tls.ProtocolName}\n";
        string response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        await tls.WriteAsync(Encoding.ASCII.GetBytes(response));
        await tls.ShutdownAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        using var tls = new OpenSslStream(new NetworkStream(socket, ownsSocket: true), _context);
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                timeout.CancelAfter(_handshakeTimeout);
                await tls.AuthenticateAsServerAsync(timeout.Token);
            }
            _handshakes.Writer.TryWrite(new HandshakeInfo(tls.ProtocolName, tls.ProtocolVersion, tls.CipherSuiteName,
                tls.CipherSuite, tls.ServerName, tls.ApplicationProtocol, tls.IsResumed));
            await _handler(tls).WaitAsync(Deadline);
        }
        catch (Exception e)
        {
            _failures.Writer.TryWrite(e);
        }
    }
}
