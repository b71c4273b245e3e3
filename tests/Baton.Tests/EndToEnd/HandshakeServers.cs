using System.Security.Cryptography;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// The servers a handshake behaviour is compared on, all with one ECDSA certificate: `openssl s_server` with Baton's
/// policy, a handoff front and a passthrough front, one worker each (so a session-ID cache is always the same one).
/// The passthrough pool has a ticket-key file: its workers then use Baton's ticket callback, as the handoff front
/// always does (without one they use OpenSSL's own ticket keys).
/// </summary>
public class HandshakeServers : IAsyncLifetime
{
    public const string Reference = "s_server", Handoff = "handoff", Passthrough = "passthrough";

    private readonly Dictionary<string, int> _ports = [];
    private readonly List<IAsyncDisposable> _servers = [];

    public string Directory { get; private set; } = "";
    public string CertificateFile => Path.Combine(Directory, "cert.pem");
    public string KeyFile => Path.Combine(Directory, "key.pem");
    public string TicketKeyFile => Path.Combine(Directory, "ticket.key");

    public static TheoryData<string> All => new() { Reference, Handoff, Passthrough };

    public static IReadOnlyList<string> Names { get; } = [Reference, Handoff, Passthrough];

    /// <summary>Settings both fronts of the fixture start with.</summary>
    protected virtual IDictionary<string, string>? FrontEnvironment => null;

    public int Port(string server) => _ports[server];

    public async Task InitializeAsync()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("baton-handshake-").FullName;
        ProcessResult made = await ChildProcess.RunAsync("openssl",
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", KeyFile, "-out", CertificateFile,
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        await File.WriteAllBytesAsync(TicketKeyFile, RandomNumberGenerator.GetBytes(80));
        Task<SServer> reference = SServer.StartAsync(CertificateFile, KeyFile);
        Task<BatonFront> handoff = StartBatonAsync(Handoff, environment: FrontEnvironment);
        Task<BatonFront> passthrough = StartBatonAsync(Passthrough, TicketKeyFile, FrontEnvironment);
        Add(Reference, await reference, s => s.Port);
        Add(Handoff, await handoff, f => f.Port);
        Add(Passthrough, await passthrough, f => f.Port);
    }

    /// <summary>A front in <paramref name="mode"/> with this certificate, plus <paramref name="environment"/> settings.</summary>
    public Task<BatonFront> StartBatonAsync(
        string mode, string? ticketKeyFile = null, IDictionary<string, string>? environment = null, int workers = 1)
    {
        string config = Path.Combine(Directory, $"{mode}-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = workers, Mode = mode } },
                Certificates = new[] { new { CertificateFile, KeyFile } },
                SessionTickets = new { KeyFile = ticketKeyFile },
            },
        }));
        return BatonFront.StartAsync(["--config", config], environment);
    }

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable server in _servers)
            await server.DisposeAsync();
        if (Directory.Length > 0)
            System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void Add<T>(string name, T server, Func<T, int> port) where T : IAsyncDisposable
    {
        _servers.Add(server);
        _ports[name] = port(server);
    }
}

/// <summary>The handshake servers with Limits:ClientHelloMaxBytes raised, for hellos past 16 KiB.</summary>
public sealed class RaisedLimitServers : HandshakeServers
{
    protected override IDictionary<string, string>? FrontEnvironment =>
        new Dictionary<string, string> { ["Baton__Limits__ClientHelloMaxBytes"] = $"{GeneratedHellos.RaisedLimit}" };
}

/// <summary>One `openssl s_client` connection making one request, and what it printed about the handshake.</summary>
internal sealed record SClientRun(ProcessResult Result)
{
    /// <summary>Connects with SNI localhost, sends a GET and reads until the server closes (-ign_eof: not when stdin ends).</summary>
    public static async Task<SClientRun> RequestAsync(int port, params string[] options) =>
        new(await ChildProcess.RunAsync("openssl",
            ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-ign_eof", .. options],
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));

    /// <summary>"New, TLSv1.3" or "Reused, TLSv1.2": s_client's first session line.</summary>
    public string Session =>
        Result.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("New, ", StringComparison.Ordinal) || l.StartsWith("Reused, ", StringComparison.Ordinal))
            ?.Split(',')[..2].Aggregate((a, b) => a + "," + b)
        ?? throw new Xunit.Sdk.XunitException($"s_client printed no session line:\n{Result}");

    /// <summary>TLS 1.3 NewSessionTicket messages received.</summary>
    public int Tickets => Result.StandardOutput.Split("Post-Handshake New Session Ticket arrived").Length - 1;

    /// <summary>The server answered the request (Baton's worker page or s_server's status page; s_client may print it right after a ticket dump).</summary>
    public bool Served => System.Text.RegularExpressions.Regex.IsMatch(Result.StandardOutput, @"HTTP/1\.[01] 200 ");

    public override string ToString() => Result.ToString();
}
