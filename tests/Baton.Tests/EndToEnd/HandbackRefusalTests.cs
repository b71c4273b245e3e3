using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>A handed-back request whose pool cannot take it is answered by the front itself, over the carried session.</summary>
public sealed class HandbackRefusalTests
{
    [Fact]
    public async Task TheFrontAnswers503OverTheCarriedSessionWhenThePoolIsFull()
    {
        string config = Path.Combine(Path.GetTempPath(), $"baton-handback-503-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object>
                {
                    ["default"] = new { Workers = 1, Mode = "handoff" },
                    ["api"] = new { Workers = 1, Mode = "handoff", MaxConnectionsPerWorker = 1 },
                },
                Routes = new object[] { new { PathPrefix = "/api/", Pool = "api" } },
            },
        }));
        const string script = """
            import socket, ssl, sys
            port = int(sys.argv[1])
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            def response(f):
                status = f.readline().decode().strip()
                headers = {}
                while (line := f.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = f.read(int(headers["content-length"]))
                return status, headers, body.decode()
            def connect():
                raw = socket.create_connection(("127.0.0.1", port), timeout=60)
                s = ctx.wrap_socket(raw, server_hostname="localhost")
                return s, s.makefile("rb")
            holder, held = connect()
            holder.sendall(b"GET /api/hold HTTP/1.1\r\nHost: localhost\r\n\r\n")
            print("holder", response(held)[0])
            s, f = connect()
            s.sendall(b"GET /static/a HTTP/1.1\r\nHost: localhost\r\n\r\n")
            print("first", response(f)[0])
            s.sendall(b"GET /api/b HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, headers, body = response(f)
            print("second", status, headers.get("server"), headers.get("retry-after"), body.strip())
            print("then", f.read(1) == b"" and "closed")
            """;
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script, front.Port.ToString()]);
            Assert.True(result.ExitCode == 0, $"python3 failed: {result}\n{front.Output}");
            Assert.Contains("holder HTTP/1.1 200 OK", result.StandardOutput);
            Assert.Contains("first HTTP/1.1 200 OK", result.StandardOutput);
            Assert.Contains("second HTTP/1.1 503 Service Unavailable Baton 1 503 Service Unavailable", result.StandardOutput);
            Assert.Contains("then closed", result.StandardOutput);
            await front.WaitForOutputAsync("could not continue: no worker of pool api took it; answered 503");
        }
        finally
        {
            File.Delete(config);
        }
    }
}
