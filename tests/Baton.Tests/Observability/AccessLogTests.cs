using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Observability;

/// <summary>The access log of a real front: one line per connection, in the configured format, only when enabled.</summary>
public sealed partial class AccessLogTests
{
    private const string EveryField =
        "access {connection} at={time} client={client} addr={client_address} listener={listener} sni={sni} alpn={alpn} " +
        "v={tls_version} c={tls_cipher} m={method} p={path} h={host} pool={pool} pid={worker_pid} r={result} why={reason} " +
        "b={request_bytes} d={dispatch_ms} t={duration_ms} {{braces}}";

    private static TempFile Config(string mode, string format = EveryField) => TempFile.Config(new
    {
        Listeners = new[] { new { Name = "public", Address = "127.0.0.1:0" } },
        Pools = new { @default = new { Workers = 1, Mode = mode } },
        AccessLog = new { Enabled = true, Format = format },
    });

    [Fact]
    public async Task AHandedOffConnectionAndAFailedOneAreOneLineEachWithTheConfiguredFields()
    {
        using TempFile config = Config("handoff");
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);

        string page = await Clients.CurlAsync(front.Port, path: "/facts?token=s3cr3t", extra: ["--http1.1"]);
        int pid = Clients.WorkerPid(page);
        string handedOff = await front.WaitForOutputAsync(" r=handed_off ");
        Match line = AccessLine().Match(handedOff);
        Assert.True(line.Success, handedOff);
        Assert.Contains(" info: Baton.Access[140] ", handedOff);
        Assert.True(DateTimeOffset.TryParseExact(line.Groups["at"].Value, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _));
        Assert.StartsWith("127.0.0.1:", line.Groups["client"].Value);
        Assert.Equal("127.0.0.1", line.Groups["addr"].Value);
        Assert.Equal("public", line.Groups["listener"].Value);
        Assert.Equal("localhost", line.Groups["sni"].Value);
        Assert.Equal("http/1.1", line.Groups["alpn"].Value);
        Assert.Equal("TLSv1.3", line.Groups["v"].Value);
        Assert.StartsWith("TLS_", line.Groups["c"].Value);
        Assert.Equal("GET", line.Groups["m"].Value);
        Assert.Equal("/facts", line.Groups["p"].Value);
        Assert.Equal("localhost", line.Groups["h"].Value);
        Assert.Equal("default", line.Groups["pool"].Value);
        Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), line.Groups["pid"].Value);
        Assert.Equal("-", line.Groups["why"].Value);
        Assert.InRange(int.Parse(line.Groups["b"].Value), 40, 4096);
        Assert.InRange(double.Parse(line.Groups["d"].Value, CultureInfo.InvariantCulture), 0, double.Parse(line.Groups["t"].Value, CultureInfo.InvariantCulture));
        Assert.EndsWith(" {braces}", handedOff);

        using (Socket plain = await Clients.SendRawAsync(front.Port, Clients.Ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
            await Clients.ReadUntilClosedAsync(plain, TimeSpan.FromSeconds(30));
        string failed = await front.WaitForOutputAsync(" r=failed ");
        Match failure = AccessLine().Match(failed);
        Assert.True(failure.Success, failed);
        Assert.Equal("plain_http", failure.Groups["why"].Value);
        Assert.Equal(["-", "-", "-", "-", "-"], new[] { "sni", "v", "m", "pool", "pid" }.Select(g => failure.Groups[g].Value));

        // After the handshake, a request head the front refuses: the line has what the handshake gave.
        await using (var badHead = await Baton.Tests.EndToEnd.TlsConnection.OpenAsync(front.Port))
            await badHead.SendAndReadResponsesAsync("GET /%00?token=s3cr3t HTTP/1.1\r\nHost: localhost\r\n\r\n", 1);
        Match refused = AccessLine().Match(await front.WaitForOutputAsync(" why=request_invalid "));
        Assert.Equal(["localhost", "TLSv1.3", "-", "-", "failed"], new[] { "sni", "v", "m", "pid", "r" }.Select(g => refused.Groups[g].Value));

        // The query is not logged (it may carry secrets), and each connection is one line.
        Assert.DoesNotContain("s3cr3t", front.Output);
        Assert.Equal(3, front.CountOutput("Baton.Access[140] access "));
    }

    [Fact]
    public async Task InPassthroughTheLineHasWhatTheFrontSawTheOfferedAlpnAndNoTlsFacts()
    {
        using TempFile config = Config("passthrough");
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);

        int pid = Clients.WorkerPid(await Clients.CurlAsync(front.Port, extra: ["--http2"]));
        Match line = AccessLine().Match(await front.WaitForOutputAsync(" r=handed_off "));

        Assert.Equal("localhost", line.Groups["sni"].Value);
        Assert.Equal("h2,http/1.1", line.Groups["alpn"].Value);
        Assert.Equal(["-", "-", "-", "-"], new[] { "v", "c", "m", "p" }.Select(g => line.Groups[g].Value));
        Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), line.Groups["pid"].Value);
        Assert.Equal("0", line.Groups["b"].Value);
    }

    [Fact]
    public async Task AFieldTheClientControlsIsBounded()
    {
        using TempFile config = Config("handoff", "access p={path} h={host} end");
        await using BatonFront front = await BatonFront.StartAsync(["--config", config.Path]);
        string longPath = "/" + new string('a', 2000);

        await Clients.CurlAsync(front.Port, path: longPath, extra: ["--http1.1", "-H", "Host: Example.COM"]);
        string line = await front.WaitForOutputAsync("access p=");

        Match fields = Regex.Match(line, @"access p=(\S+) h=(\S+) end$");
        Assert.True(fields.Success, line);
        Assert.Equal(256, fields.Groups[1].Value.Length);
        Assert.EndsWith("aaa...", fields.Groups[1].Value);
        Assert.Equal("example.com", fields.Groups[2].Value);
    }

    [Fact]
    public async Task WithoutConfigurationThereIsNoAccessLog()
    {
        await using BatonFront front = await BatonFront.StartAsync();

        await Clients.CurlAsync(front.Port);
        await front.WaitForOutputAsync("handed to pool=default");

        Assert.Equal(0, front.CountOutput("Baton.Access"));
    }

    [GeneratedRegex(@"access \d+ at=(?<at>\S+) client=(?<client>\S+) addr=(?<addr>\S+) listener=(?<listener>\S+) sni=(?<sni>\S+) alpn=(?<alpn>\S+) " +
        @"v=(?<v>\S+) c=(?<c>\S+) m=(?<m>\S+) p=(?<p>\S+) h=(?<h>\S+) pool=(?<pool>\S+) pid=(?<pid>\S+) r=(?<r>\S+) why=(?<why>\S+) " +
        @"b=(?<b>\d+) d=(?<d>\S+) t=(?<t>[\d.]+) \{braces\}")]
    private static partial Regex AccessLine();
}
