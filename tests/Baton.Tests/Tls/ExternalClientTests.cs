using Baton.Tests.Infrastructure;

namespace Baton.Tests.Tls;

/// <summary>OpenSslStream against curl, openssl s_client and python3's ssl module.</summary>
public sealed class ExternalClientTests
{
    [Theory]
    [InlineData("1.2", "TLSv1.2")]
    [InlineData("1.3", "TLSv1.3")]
    public async Task CurlGetsTheHttpResponse(string tlsVersion, string expectedProtocol)
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost, "http/1.1");
        await using var server = new TlsTestServer(context, TlsTestServer.AnswerHttp);

        ProcessResult result = await ChildProcess.RunAsync("curl", ["-sSk", "--max-time", "30", "--http1.1",
            "--tlsv" + tlsVersion, "--tls-max", tlsVersion,
            "--resolve", $"localhost:{server.Port}:127.0.0.1", $"https://localhost:{server.Port}/"]);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains($"hello from baton over {expectedProtocol}", result.Output);
        HandshakeInfo handshake = await server.NextHandshakeAsync();
        Assert.Equal(expectedProtocol, handshake.Version);
        Assert.Equal("localhost", handshake.ServerName);
        Assert.Equal("http/1.1", handshake.Alpn);
    }

    [Theory]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", (ushort)0x1301)]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", (ushort)0x1302)]
    [InlineData("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", (ushort)0x1303)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", (ushort)0xC02B)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384", (ushort)0xC02C)]
    [InlineData("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", (ushort)0xCCA9)]
    public async Task SClientNegotiatesEachAeadSuite(string version, string suiteOption, string suite, ushort expectedId)
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        await using ChildProcess client = ChildProcess.Start("openssl", ["s_client", "-brief", version, suiteOption, suite,
            "-servername", "localhost", "-connect", $"127.0.0.1:{server.Port}"]);
        await client.WaitForOutputAsync("CONNECTION ESTABLISHED");
        await client.WriteLineAsync("ping-" + suite);
        await client.WaitForOutputAsync("ping-" + suite + "\n");
        client.CloseInput();
        await client.WaitForExitAsync();

        HandshakeInfo handshake = await server.NextHandshakeAsync();
        Assert.Equal(suite, handshake.Suite);
        Assert.Equal(expectedId, handshake.SuiteId);
        Assert.Equal("localhost", handshake.ServerName);
        Assert.False(server.HasFailures);
    }

    [Fact]
    public async Task RsaCertificateGetsEcdheRsaSuiteInTls12()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.LocalhostRsa);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        await using ChildProcess client = ChildProcess.Start("openssl", ["s_client", "-brief", "-tls1_2", "-connect", $"127.0.0.1:{server.Port}"]);
        await client.WaitForOutputAsync("CONNECTION ESTABLISHED");
        client.CloseInput();
        await client.WaitForExitAsync();

        HandshakeInfo handshake = await server.NextHandshakeAsync();
        Assert.Equal("ECDHE-RSA-AES128-GCM-SHA256", handshake.Suite);
    }

    [Theory]
    [InlineData("h2,http/1.1", "h2")]
    [InlineData("http/1.1,h2", "h2")]
    [InlineData("http/1.1", "http/1.1")]
    public async Task SClientAlpnUsesServerPreference(string offered, string? expected)
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost, "h2", "http/1.1");
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        await using ChildProcess client = ChildProcess.Start("openssl", ["s_client", "-brief", "-alpn", offered, "-connect", $"127.0.0.1:{server.Port}"]);
        await client.WaitForOutputAsync("CONNECTION ESTABLISHED");
        client.CloseInput();
        await client.WaitForExitAsync();

        HandshakeInfo handshake = await server.NextHandshakeAsync();
        Assert.Equal(expected, handshake.Alpn);
    }

    [Fact]
    public async Task NoCommonAlpnProtocolIsRefusedWithNoApplicationProtocol()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost, "h2", "http/1.1");
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        ProcessResult result = await ChildProcess.RunAsync("openssl", ["s_client", "-alpn", "spdy/3,imap", "-connect", $"127.0.0.1:{server.Port}"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("SSL alert number 120", result.Output);
        Exception failure = await server.NextFailureAsync();
        Assert.IsType<System.Security.Authentication.AuthenticationException>(failure);
        Assert.Contains("no application protocol", failure.Message);
    }

    [Fact]
    public async Task Tls11ClientIsRefusedWithAnAlert()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        // SECLEVEL=0 so the client's own OpenSSL agrees to offer TLS 1.1 at all.
        ProcessResult result = await ChildProcess.RunAsync("openssl", ["s_client", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
            "-connect", $"127.0.0.1:{server.Port}"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("alert protocol version", result.Output);
        Exception failure = await server.NextFailureAsync();
        Assert.IsType<System.Security.Authentication.AuthenticationException>(failure);
        Assert.Contains("unsupported protocol", failure.Message);
    }

    [Fact]
    public async Task NonAeadSuiteIsRefusedWithAnAlert()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        ProcessResult result = await ChildProcess.RunAsync("openssl", ["s_client", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA",
            "-connect", $"127.0.0.1:{server.Port}"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("alert handshake failure", result.Output);
        Exception failure = await server.NextFailureAsync();
        Assert.Contains("no shared cipher", failure.Message);
    }

    [Fact]
    public async Task KeyUpdateRequestedByTheClientWorks()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        await using ChildProcess client = ChildProcess.Start("openssl", ["s_client", "-brief", "-tls1_3", "-connect", $"127.0.0.1:{server.Port}"]);
        await client.WaitForOutputAsync("CONNECTION ESTABLISHED");
        await client.WriteLineAsync("before-update");
        await client.WaitForOutputAsync("before-update\n");
        for (int i = 0; i < 3; i++)
        {
            // "K": KeyUpdate with update_requested, so the server must rekey its sending side too.
            await client.WriteLineAsync("K");
            // s_client treats its whole stdin read as the command: send the next line only once "K" was taken.
            await client.WaitForOutputAsync("KEYUPDATE", occurrences: i + 1);
            await client.WriteLineAsync($"after-update-{i}");
            await client.WaitForOutputAsync($"after-update-{i}\n");
        }
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        await server.NextHandshakeAsync();
        Assert.False(server.HasFailures);
    }

    [Theory]
    [InlineData(null, "localhost")]
    [InlineData("www.example.test", "wildcard")]
    [InlineData("api.other.test", "api")]
    [InlineData("a.b.example.test", "localhost")]
    [InlineData("unknown.test", "localhost")]
    public async Task SniPicksTheMatchingCertificate(string? serverName, string expected)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.Localhost, "localhost"));
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.WildcardExample, "*.example.test"));
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.ApiOtherRsa, "api.other.test"));
        using TlsServerContext context = TlsServerContext.Create(options);
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        string sni = serverName is null ? "None" : $"'{serverName}'";
        string script = $$"""
            import hashlib, socket, ssl
            ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(socket.create_connection(('127.0.0.1', {{server.Port}})), server_hostname={{sni}}) as s:
                print('fingerprint=' + hashlib.sha256(s.getpeercert(True)).hexdigest())
                s.sendall(b'x'); s.recv(1)
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script]);

        Assert.True(result.ExitCode == 0, result.Output);
        SelfSignedCertificate expectedCertificate = expected switch
        {
            "wildcard" => TestCertificates.WildcardExample,
            "api" => TestCertificates.ApiOtherRsa,
            _ => TestCertificates.Localhost,
        };
        Assert.Contains("fingerprint=" + TestCertificates.HexFingerprint(expectedCertificate), result.Output);
        Assert.Equal(serverName, (await server.NextHandshakeAsync()).ServerName);
    }

    [Fact]
    public async Task PythonResumesWithATls13Ticket()
    {
        using TlsServerContext context = TestCertificates.Context(TestCertificates.Localhost, "h2", "http/1.1");
        await using var server = new TlsTestServer(context, TlsTestServer.Echo);

        string script = $$"""
            import socket, ssl
            ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(['http/1.1', 'h2'])
            session = None
            for attempt in range(2):
                with ctx.wrap_socket(socket.create_connection(('127.0.0.1', {{server.Port}})), server_hostname='localhost', session=session) as s:
                    s.sendall(b'hello'); assert s.recv(5) == b'hello'
                    print(attempt, s.version(), s.cipher()[0], s.selected_alpn_protocol(), s.session_reused)
                    session = s.session
            """;
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", script]);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("0 TLSv1.3 TLS_AES_128_GCM_SHA256 h2 False", result.Output);
        Assert.Contains("1 TLSv1.3 TLS_AES_128_GCM_SHA256 h2 True", result.Output);
        Assert.False((await server.NextHandshakeAsync()).Resumed);
        Assert.True((await server.NextHandshakeAsync()).Resumed);
    }
}
