using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>A .NET SslStream client on a raw socket, for tests that need bytes before TLS or keep-alive control.</summary>
public sealed class TlsConnection : IAsyncDisposable
{
    private readonly SslStream _tls;
    private readonly string _host;
    private readonly List<byte> _received = [];

    private TlsConnection(SslStream tls, string host)
    {
        _tls = tls;
        _host = host;
    }

    /// <summary>Connects, writes <paramref name="preamble"/> (e.g. a PROXY header) in clear, then runs the TLS handshake.</summary>
    public static async Task<TlsConnection> OpenAsync(int port, string host = "localhost", byte[]? preamble = null)
    {
        Socket socket = await Clients.SendRawAsync(port, preamble ?? []);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, deadline.Token);
        return new TlsConnection(tls, host);
    }

    /// <summary>Sends one keep-alive GET and returns the response body (the demo page).</summary>
    public async Task<string> GetAsync(string path = "/") =>
        (await SendAndReadResponsesAsync($"GET {path} HTTP/1.1\r\nHost: {_host}\r\n\r\n", 1))[0];

    /// <summary>Writes <paramref name="requests"/> in one TLS write and reads <paramref name="count"/> response bodies.</summary>
    public async Task<string[]> SendAndReadResponsesAsync(string requests, int count)
    {
        await _tls.WriteAsync(Encoding.ASCII.GetBytes(requests));
        var bodies = new string[count];
        for (int i = 0; i < count; i++)
            bodies[i] = await ReadResponseBodyAsync();
        return bodies;
    }

    private async Task<string> ReadResponseBodyAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] buffer = new byte[16384];
        while (true)
        {
            string text = Encoding.UTF8.GetString(_received.ToArray());
            int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0)
            {
                string lengthLine = text[..headEnd].Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                int length = int.Parse(lengthLine[15..].Trim());
                if (_received.Count >= headEnd + 4 + length)
                {
                    string body = Encoding.UTF8.GetString(_received.ToArray(), headEnd + 4, length);
                    _received.RemoveRange(0, headEnd + 4 + length);
                    return body;
                }
            }
            int n = await _tls.ReadAsync(buffer, deadline.Token);
            if (n == 0)
                throw new IOException($"connection closed before a full response; got:\n{text}");
            _received.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    public ValueTask DisposeAsync() => _tls.DisposeAsync();
}
