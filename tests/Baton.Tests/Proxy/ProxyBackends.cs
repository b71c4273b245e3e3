using System.Net;
using System.Net.Sockets;
using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>
/// Plain-TCP backends for proxy pools, each a real listening socket: in-process ones on <see cref="LoopbackServer"/>
/// (echo, greeting, reset, silent) and python3 ones (http.server, a PROXY v2 reader) that print their port first.
/// </summary>
internal static class ProxyBackends
{
    public const string Greeting = "220 baton-test ESMTP ready\r\n";

    /// <summary>Echoes every byte; at the client's FIN it sends its own (half-close both ways) and closes.</summary>
    public static LoopbackServer Echo() => new(async (socket, stopping) =>
    {
        using (socket)
            await EchoAsync(socket, stopping);
    });

    /// <summary>Speaks first (an SMTP-like greeting), then echoes.</summary>
    public static LoopbackServer Greeter() => new(async (socket, stopping) =>
    {
        using (socket)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(Greeting), stopping);
            await EchoAsync(socket, stopping);
        }
    });

    /// <summary>Reads the first bytes, then resets the connection (SO_LINGER 0: RST).</summary>
    public static LoopbackServer Resetter() => new(async (socket, stopping) =>
    {
        byte[] buffer = new byte[1024];
        try
        {
            await socket.ReceiveAsync(buffer, stopping);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();
    });

    /// <summary>
    /// Says "bye", closes its write side at once (FIN) and reads on until the client's end, then reports what it saw:
    /// "eof N" (a FIN after N bytes) or "reset N".
    /// </summary>
    public static LoopbackServer HalfCloser(System.Threading.Channels.ChannelWriter<string> reports) => new(async (socket, stopping) =>
    {
        using (socket)
        {
            long received = 0;
            string end = "eof";
            try
            {
                await socket.SendAsync("bye\n"u8.ToArray(), stopping);
                socket.Shutdown(SocketShutdown.Send);
                byte[] buffer = new byte[64 * 1024];
                while (await socket.ReceiveAsync(buffer, stopping) is int n and > 0)
                    received += n;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                end = "reset";
            }
            catch (OperationCanceledException)
            {
                end = "stopped";
            }
            reports.TryWrite($"{end} {received}");
        }
    });

    /// <summary>Accepts and then neither reads nor writes until the server is disposed: a backend that hangs.</summary>
    public static LoopbackServer Silent() => new(async (socket, stopping) =>
    {
        using (socket)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, stopping);
            }
            catch (OperationCanceledException)
            {
            }
        }
    });

    private static async Task EchoAsync(Socket socket, CancellationToken stopping)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, stopping);
                if (n == 0)
                    break;
                await socket.SendAsync(buffer.AsMemory(0, n), stopping);
            }
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }
    }

    /// <summary>A loopback port where nothing listens: bound (so no one else takes it) but not listening, so connects are refused.</summary>
    public static Socket DeadPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>python3 http.server serving <paramref name="directory"/> on a free port.</summary>
    public static Task<PythonBackend> HttpServerAsync(string directory) => PythonBackend.StartAsync("""
        import functools, http.server, sys
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """, directory);

    /// <summary>
    /// Reads the PROXY v2 header on each connection with its own parser (not Baton's) and answers what it found, one
    /// "key=value" line each, then "end"; LOCAL connections (the relay's health probes) are counted and closed.
    /// </summary>
    public static Task<PythonBackend> ProxyV2ReaderAsync() => PythonBackend.StartAsync("""
        import socket, struct, threading
        SIG = b"\r\n\r\n\x00\r\nQUIT\n"
        def recvn(c, n):
            data = b""
            while len(data) < n:
                chunk = c.recv(n - len(data))
                if not chunk: raise EOFError("short header")
                data += chunk
            return data
        def tlvs(b):
            out, i = {}, 0
            while i < len(b):
                t, l = b[i], struct.unpack(">H", b[i+1:i+3])[0]
                out[t] = b[i+3:i+3+l]
                i += 3 + l
            return out
        def serve(c):
            with c:
                head = recvn(c, 16)
                assert head[:12] == SIG, head
                command, family, length = head[12], head[13], struct.unpack(">H", head[14:16])[0]
                body = recvn(c, length)
                if command == 0x20:
                    return
                lines = [f"command={command:#x}", f"family={family:#x}"]
                if family == 0x11:
                    af, size = socket.AF_INET, 4
                else:
                    af, size = socket.AF_INET6, 16
                src, dst = socket.inet_ntop(af, body[:size]), socket.inet_ntop(af, body[size:2*size])
                sport, dport = struct.unpack(">HH", body[2*size:2*size+4])
                t = tlvs(body[2*size+4:])
                lines += [f"source={src}:{sport}", f"destination={dst}:{dport}"]
                lines += [f"alpn={t.get(1, b'').decode()}", f"authority={t.get(2, b'').decode()}"]
                ssl = t[0x20]
                sub = tlvs(ssl[5:])
                lines += [f"ssl_client={ssl[0]}", f"verify={struct.unpack('>I', ssl[1:5])[0]}"]
                lines += [f"version={sub[0x21].decode()}", f"cipher={sub[0x23].decode()}"]
                c.sendall(("\n".join(lines) + "\nend\n").encode())
                while c.recv(4096):
                    pass
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        print(server.getsockname()[1], flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """);
}

/// <summary>A python3 backend script; its first output line is its port. Disposing kills it.</summary>
internal sealed class PythonBackend : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private PythonBackend(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Output => _process.Output;

    public static async Task<PythonBackend> StartAsync(string script, params string[] arguments)
    {
        ChildProcess process = ChildProcess.Start("python3", ["-c", script, .. arguments]);
        try
        {
            string line = await process.WaitForLineAsync(l => int.TryParse(l.Trim(), out _), "the backend's port", TimeSpan.FromSeconds(30));
            return new PythonBackend(process, int.Parse(line.Trim()));
        }
        catch
        {
            process.Kill();
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        _process.Kill();
        return _process.DisposeAsync();
    }
}
