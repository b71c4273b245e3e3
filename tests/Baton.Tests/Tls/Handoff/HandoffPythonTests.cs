using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>The recipe with python3's ssl + http.client: several requests on one kept-alive connection.</summary>
public sealed class HandoffPythonTests
{
    private const string Script = """
        import http.client, ssl, sys
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, sys.argv[2])
        conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=20)
        for path in ("/p1", "/p2", "/p3"):
            conn.request("GET", path)
            print(conn.getresponse().read().decode().strip())
        print(conn.sock.version(), conn.sock.cipher()[0])
        conn.close()
        """;

    [Theory]
    [InlineData("TLSv1_3", "TLSv1.3")]
    [InlineData("TLSv1_2", "TLSv1.2")]
    public async Task PythonKeepsTheConnectionAcrossTheHandoff(string version, string expected)
    {
        await using var server = new HandoffTestServer(HandoffTestServer.CreateContext(TestCertificates.Localhost));
        var (exitCode, output) = await ClientProcess.RunAsync("python3", "-c", Script, server.Port.ToString(), version);
        Assert.True(exitCode == 0, output);
        Assert.Contains("path=/p1 n=1", output);
        Assert.Contains("path=/p2 n=2", output);
        Assert.Contains("path=/p3 n=3", output);
        Assert.Contains(expected, output);
        Assert.Equal(1, server.ConnectionCount);
        Assert.False(server.HasFailures);
    }
}
