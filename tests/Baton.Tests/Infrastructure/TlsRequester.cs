using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// One TLS connection (.NET SslStream) sending HTTP/1.1 keep-alive requests one after another on the same connection,
/// so a test knows that connection itself kept working; remembers the serial of the certificate it was served.
/// </summary>
public sealed class TlsRequester : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly SslStream _tls;
    private readonly byte[] _buffer = new byte[64 * 1024];

    private TlsRequester(Socket socket, SslStream tls, string serial)
    {
        _socket = socket;
        _tls = tls;
        Serial = serial;
    }

    /// <summary>The serial number of the certificate the server presented, as X509Certificate2.SerialNumber spells it.</summary>
    public string Serial { get; }

    public int Requests { get; private set; }

    public static async Task<TlsRequester> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                // A full handshake every time: a resumed session is not sent the certificate again (it keeps its own).
                AllowTlsResume = false,
            }, cancellationToken);
            using var certificate = new X509Certificate2(tls.RemoteCertificate!);
            return new TlsRequester(socket, tls, certificate.SerialNumber);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>GET / and reads the whole response (the facts page has a Content-Length); throws on anything but a 200.</summary>
    public async Task<string> GetAsync(CancellationToken cancellationToken = default)
    {
        await _tls.WriteAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), cancellationToken);
        int length = 0;
        int headEnd;
        while ((headEnd = IndexOfHeadEnd(length)) < 0)
            length += await ReadSomeAsync(length, cancellationToken);
        string head = Encoding.ASCII.GetString(_buffer, 0, headEnd);
        if (!head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            throw new IOException($"unexpected response: {head}");
        string lengthLine = head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        int total = headEnd + 4 + int.Parse(lengthLine["Content-Length:".Length..].Trim());
        while (length < total)
            length += await ReadSomeAsync(length, cancellationToken);
        Requests++;
        return Encoding.UTF8.GetString(_buffer, headEnd + 4, total - headEnd - 4);
    }

    private async Task<int> ReadSomeAsync(int offset, CancellationToken cancellationToken)
    {
        int read = await _tls.ReadAsync(_buffer.AsMemory(offset), cancellationToken);
        return read > 0 ? read : throw new IOException($"the server closed the connection after {Requests} requests");
    }

    private int IndexOfHeadEnd(int length) => _buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _socket.Dispose();
    }
}
