namespace Baton.Tests.Infrastructure;

/// <summary>
/// `openssl s_server -www` on a free loopback port with Baton's TLS policy: the reference a Baton front is compared
/// with. It answers every request with its status page and serves one connection at a time.
/// </summary>
public sealed class SServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private SServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What TlsServerContext sets, in s_server's words: versions, suites, groups, no renegotiation, server preference, ALPN.</summary>
    public static IReadOnlyList<string> BatonPolicy { get; } =
    [
        "-min_protocol", "TLSv1.2", "-cipher", TlsServerContext.Tls12CipherList, "-ciphersuites", TlsServerContext.Tls13CipherSuites,
        "-groups", TlsServerContext.Groups, "-no_renegotiation", "-serverpref", "-no_comp", "-alpn", "h2,http/1.1",
    ];

    /// <summary>Starts s_server with the certificate, Baton's policy and <paramref name="extra"/> options; waits until it listens.</summary>
    public static async Task<SServer> StartAsync(string certificateFile, string keyFile, params string[] extra)
    {
        ChildProcess process = ChildProcess.Start("openssl",
            ["s_server", "-accept", "127.0.0.1:0", "-cert", certificateFile, "-key", keyFile, "-www", .. BatonPolicy, .. extra]);
        try
        {
            string line = await process.WaitForLineAsync(l => l.StartsWith("ACCEPT ", StringComparison.Ordinal), "s_server accepts");
            return new SServer(process, int.Parse(line[(line.LastIndexOf(':') + 1)..]));
        }
        catch
        {
            process.Kill();
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>s_server does not stop when its stdin closes: kill it.</summary>
    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.DisposeAsync();
    }
}
