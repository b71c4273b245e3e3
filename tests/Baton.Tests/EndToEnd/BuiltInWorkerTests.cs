using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>The built-in worker answers requests it cannot serve with their status, not with a 500 and a logged stack trace.</summary>
public sealed class BuiltInWorkerTests
{
    [Fact]
    public async Task ConnectAndATooLargeBodyAreAnsweredWithoutAStackTrace()
    {
        string body = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.bin");
        // Past Kestrel's default MaxRequestBodySize (30,000,000 bytes); it refuses on the Content-Length, before reading it all.
        using (FileStream file = File.Create(body))
            file.SetLength(31_000_000);
        BatonFront front = await BatonFront.StartAsync();
        try
        {
            string connect = await Clients.CurlAsync(front.Port, "localhost", "/", "--http1.1", "-X", "CONNECT", "-w", "status=%{http_code}");
            Assert.Contains("status=501", connect);
            string authority = await Clients.CurlAsync(front.Port, "localhost", "/",
                "--http1.1", "-X", "CONNECT", "--request-target", $"localhost:{front.Port}", "-w", "status=%{http_code}");
            Assert.Contains("status=501", authority);

            string claimed = await Clients.CurlAsync(front.Port, "localhost", "/",
                "--http1.1", "-H", "Content-Length: 40000000", "-d", "x", "-w", "status=%{http_code}");
            Assert.Contains("413 Request body too large", claimed);
            Assert.Contains("status=413", claimed);
            // HTTP/2 reaches the same refusal through another body reader; curl may see the stream reset while it
            // is still sending, so only the worker's log is checked for it.
            await ChildProcess.RunAsync("curl", ["-sS", "-k", "--max-time", "30", "--http2", "--data-binary", "@" + body,
                "--resolve", $"localhost:{front.Port}:127.0.0.1", $"https://localhost:{front.Port}/"]);
        }
        finally
        {
            await front.DisposeAsync();
            File.Delete(body);
        }
        // Every worker has exited, so all they logged is in the output.
        Assert.Contains("serving", front.Output);
        Assert.DoesNotContain("fail:", front.Output);
        Assert.DoesNotContain(" at Microsoft.AspNetCore", front.Output);
    }
}
