using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

public sealed partial class HandbackTests
{
    /// <summary>
    /// python3 writes five requests in one go (a Content-Length body, a chunked upload with an extension and a trailer,
    /// a HEAD, two GETs): the workers see them in order, each from its own pool, bodies whole.
    /// </summary>
    [Fact]
    public async Task PipelinedRequestsWithBodiesAreServedInOrderEachByItsPool()
    {
        const string script = """
            import hashlib, socket, ssl, sys
            port = int(sys.argv[1])
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            plain = bytes(range(256)) * 20
            chunked = b"7d0;note=first\r\n" + plain[:2000] + b"\r\n" + b"bb8\r\n" + plain[2000:5000] + b"\r\n0\r\nX-Trailer: done\r\n\r\n"
            requests = [
                ("POST", b"POST /static/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5120\r\n\r\n" + plain),
                ("POST", b"POST /api/b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked),
                ("HEAD", b"HEAD /api/h HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                ("GET", b"GET /api/d HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                ("GET", b"GET /static/e HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
            ]
            print("sha", hashlib.sha256(plain).hexdigest(), hashlib.sha256(plain[:5000]).hexdigest())
            with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"".join(r[1] for r in requests))
                    f = s.makefile("rb")
                    for method, _ in requests:
                        status = f.readline().decode().strip()
                        headers = {}
                        while (line := f.readline()) not in (b"\r\n", b""):
                            name, _, value = line.decode().partition(":")
                            headers[name.strip().lower()] = value.strip()
                        body = b"" if method == "HEAD" else f.read(int(headers["content-length"]))
                        print("response", status, method, headers.get("content-length"))
                        sys.stdout.write(body.decode())
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script, Front.Port.ToString()]);
        Assert.True(result.ExitCode == 0, $"python3 failed: {result}\n{Front.Output}");
        string[] digests = result.StandardOutput.Split('\n')[0].Split(' ');
        List<string> pages = Pages(result.StandardOutput);
        Assert.Equal(["default", "api", "api", "default"], pages.Select(p => Clients.FactsField(p, "pool")));
        Assert.Equal(["/static/a", "/api/b", "/api/d", "/static/e"], pages.Select(p => Clients.FactsField(p, "path")));
        Assert.Equal($"5120 bytes, sha256 {digests[1]}", Clients.FactsField(pages[0], "body"));
        Assert.Equal($"5000 bytes, sha256 {digests[2]}", Clients.FactsField(pages[1], "body"));
        Assert.Equal(5, result.StandardOutput.Split('\n').Count(l => l.StartsWith("response HTTP/1.1 200", StringComparison.Ordinal)));
        Assert.Single(pages.Select(p => Clients.FactsField(p, "client")).Distinct());
        await Front.WaitForOutputAsync("handed back by pool=api");
        Assert.Equal(2, Front.CountOutput("handed back by pool="));
    }

    /// <summary>The client rekeys (openssl s_client's K: a KeyUpdate asking for ours) before the handback: the session goes on.</summary>
    [Fact]
    public async Task AClientKeyUpdateBeforeTheHandbackIsCarriedToTheNextWorker()
    {
        await using ChildProcess client = ChildProcess.Start("openssl",
            ["s_client", "-connect", $"127.0.0.1:{Front.Port}", "-servername", "localhost", "-tls1_3", "-crlf", "-alpn", "http/1.1"]);
        await client.WriteAsync("GET /api/first HTTP/1.1\nHost: localhost\n\n");
        await client.WaitForOutputAsync("path: /api/first");
        await client.WriteAsync("K\n");
        await client.WaitForOutputAsync("KEYUPDATE");
        await client.WriteAsync("GET /static/second HTTP/1.1\nHost: localhost\nConnection: close\n\n");
        await client.WaitForOutputAsync("path: /static/second");
        List<string> pages = Pages(client.StandardOutput);
        Assert.Equal(["api", "default"], pages.Select(p => Clients.FactsField(p, "pool")));
        await Front.WaitForOutputAsync("handed back by pool=api");
        Assert.Equal(0, await client.WaitForExitAsync());
    }
}
