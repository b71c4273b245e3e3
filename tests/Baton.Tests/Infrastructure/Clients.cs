using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>Real TLS clients pointed at a local Baton: curl, openssl s_client, python3 ssl and .NET HttpClient.</summary>
public static class Clients
{
    /// <summary>curl -k with <paramref name="host"/> resolved to 127.0.0.1 (so SNI is sent); returns the body.</summary>
    public static async Task<string> CurlAsync(int port, string host = "localhost", string path = "/", params string[] extra)
    {
        ProcessResult result = await ChildProcess.RunAsync("curl",
        [
            "-sS", "-k", "--max-time", "30", "--resolve", $"{host}:{port}:127.0.0.1", .. extra, $"https://{host}:{port}{path}",
        ]);
        Assert.True(result.ExitCode == 0, $"curl failed: {result}");
        return result.StandardOutput;
    }

    /// <summary>openssl s_client sending one HTTP request; returns everything it printed.</summary>
    public static async Task<ProcessResult> OpenSslRequestAsync(int port, string host, params string[] extra)
    {
        string request = $"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n";
        return await ChildProcess.RunAsync("openssl",
            ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", host, "-quiet", "-ign_eof", .. extra], request);
    }

    /// <summary>python3's ssl module fetching "/" over one connection; returns the response text.</summary>
    public static async Task<string> PythonRequestAsync(int port, string host = "localhost")
    {
        const string script = """
            import socket, ssl, sys
            port, host = int(sys.argv[1]), sys.argv[2]
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname=host) as s:
                    s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                    data = b""
                    while chunk := s.recv(65536):
                        data += chunk
            sys.stdout.write(data.decode())
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script, port.ToString(), host]);
        Assert.True(result.ExitCode == 0, $"python3 failed: {result}");
        return result.StandardOutput;
    }

    /// <summary>An HttpClient that trusts any certificate and pins the TLS versions it may use.</summary>
    public static HttpClient CreateHttpClient(System.Security.Authentication.SslProtocols protocols = System.Security.Authentication.SslProtocols.None)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
                EnabledSslProtocols = protocols,
            },
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Opens a raw TCP connection, writes <paramref name="bytes"/> and returns the socket. A reset while
    /// writing is not an error here: the server may close on the first bad bytes.
    /// </summary>
    public static async Task<Socket> SendRawAsync(int port, byte[] bytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        try
        {
            if (bytes.Length > 0)
                await socket.SendAsync(bytes);
        }
        catch (SocketException)
        {
        }
        return socket;
    }

    /// <summary>Reads until the peer closes (or the deadline passes) and returns what arrived.</summary>
    public static async Task<byte[]> ReadUntilClosedAsync(Socket socket, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, deadline.Token);
            }
            catch (SocketException)
            {
                break;
            }
            if (n == 0) break;
            received.Write(buffer, 0, n);
        }
        return received.ToArray();
    }

    public static string FactsField(string page, string field) =>
        page.Split('\n').FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..].Trim()
        ?? throw new Xunit.Sdk.XunitException($"no '{field}:' line in:\n{page}");

    public static int WorkerPid(string page) => int.Parse(FactsField(page, "worker pid"));

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
