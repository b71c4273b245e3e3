using Baton.Tests.Infrastructure;
using Baton.Tests.Inspection;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Issue 11, the handshake past the hello: extended master secret, ALPN negotiation, and skipped or reordered handshake
/// messages, each from the same client against `openssl s_server` with Baton's policy and Baton in both modes. Every case
/// states the answer s_server gives, so a client that broke the handshake earlier than meant could not pass.
/// </summary>
public sealed class HandshakeEdgeCaseTests : IClassFixture<HandshakeServers>
{
    private const byte ServerHelloDone = 14, ServerHello = 2;

    private readonly HandshakeServers _servers;

    public HandshakeEdgeCaseTests(HandshakeServers servers) => _servers = servers;

    public static TheoryData<string, bool> ServersAndEms
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (string server in HandshakeServers.Names)
            {
                data.Add(server, true);
                data.Add(server, false);
            }
            return data;
        }
    }

    /// <summary>RFC 7627: a TLS 1.2 server answers extended_master_secret when, and only when, the client offered it.</summary>
    [Theory]
    [MemberData(nameof(ServersAndEms))]
    public async Task ExtendedMasterSecretIsEchoedOnlyWhenOffered(string server, bool offered)
    {
        byte[] hello = CraftedHello.Handshake(CraftedHello.Message(extendedMasterSecret: offered));
        List<(byte Type, byte[] Payload)> answer = await CraftedHello.ExchangeAsync(_servers.Port(server), hello, CraftedHello.IsServerHelloOrAlert);
        Assert.True(answer is [(0x16, [0x02, ..]), ..], $"{server} answered {CraftedHello.Describe(answer)}");
        Assert.Equal(offered, CraftedHello.ServerHelloExtensions(answer[0].Payload).Contains(CraftedHello.ExtendedMasterSecret));
    }

    public static TheoryData<string, bool, bool, bool, string> EmsResumptions
    {
        get
        {
            var data = new TheoryData<string, bool, bool, bool, string>();
            foreach (string server in HandshakeServers.Names)
            {
                foreach (bool tickets in new[] { false, true })
                {
                    data.Add(server, tickets, true, true, "reused");
                    // RFC 7627 5.3: a session made with EMS must not resume without it: abort.
                    data.Add(server, tickets, true, false, "alert SSLV3_ALERT_HANDSHAKE_FAILURE");
                    // One made without it is not resumed by a client that now offers it: a full handshake.
                    data.Add(server, tickets, false, true, "full");
                    data.Add(server, tickets, false, false, "reused");
                }
            }
            return data;
        }
    }

    /// <summary>A TLS 1.2 session (ticket or session ID) resumed by a client that changed its mind about EMS (python's ssl, OpenSSL's option bit).</summary>
    [Theory]
    [MemberData(nameof(EmsResumptions))]
    public async Task AResumptionThatChangesExtendedMasterSecretIsAnsweredAsRfc7627Says(
        string server, bool tickets, bool firstEms, bool secondEms, string expected)
    {
        ProcessResult run = await ChildProcess.RunAsync("python3",
            ["-c", EmsResumptionScript, $"{_servers.Port(server)}", tickets ? "1" : "0", firstEms ? "1" : "0", secondEms ? "1" : "0"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(expected, run.StandardOutput.Trim());
    }

    /// <summary>Two connections on one context (a python session belongs to its context); the option is read at each SSL_new.</summary>
    private const string EmsResumptionScript = """
        import socket, ssl, sys
        port, tickets, ems = int(sys.argv[1]), sys.argv[2] == "1", [sys.argv[3] == "1", sys.argv[4] == "1"]
        NO_EXTENDED_MASTER_SECRET = 1  # SSL_OP_NO_EXTENDED_MASTER_SECRET, OpenSSL 3.0
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode, ctx.maximum_version = False, ssl.CERT_NONE, ssl.TLSVersion.TLSv1_2
        if not tickets:
            ctx.options |= ssl.OP_NO_TICKET
        def connect(offer_ems, session=None):
            ctx.options = (ctx.options & ~NO_EXTENDED_MASTER_SECRET) if offer_ems else (ctx.options | NO_EXTENDED_MASTER_SECRET)
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    try:
                        while s.recv(65536):
                            pass
                    except (ssl.SSLError, ConnectionResetError):
                        pass
                    return s.session, s.session_reused
        session, _ = connect(ems[0])
        try:
            _, reused = connect(ems[1], session)
            print("reused" if reused else "full")
        except ssl.SSLError as e:
            print("alert", e.reason)
        """;

    public static TheoryData<string, string, string> AlpnPreferences
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (string server in HandshakeServers.Names)
            {
                data.Add(server, "http/1.1,h2", "h2"); // the server's preference order wins
                data.Add(server, "h2,h2,http/1.1", "h2"); // duplicates are no error
                data.Add(server, "x-unknown,http/1.1,http/1.1", "http/1.1");
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(AlpnPreferences))]
    public async Task AlpnIsNegotiatedInTheServersPreferenceOrder(string server, string offered, string negotiated)
    {
        SClientRun run = await SClientRun.RequestAsync(_servers.Port(server), "-alpn", offered);
        Assert.Contains($"ALPN protocol: {negotiated}\n", run.Result.StandardOutput);
    }

    public static TheoryData<string, string, string> Misorderings
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (string server in HandshakeServers.Names)
            {
                foreach ((string next, string answer) in s_tls12Next)
                    data.Add(server, next, answer);
                data.Add(server, "TLS 1.3: a plaintext Finished instead of an encrypted one", "closed");
                data.Add(server, "TLS 1.3: a second ClientHello without a HelloRetryRequest", "closed");
            }
            return data;
        }
    }

    private static readonly (string Next, string Answer)[] s_tls12Next =
    [
        ("Finished before ClientKeyExchange", "alert 10"),
        ("ChangeCipherSpec before ClientKeyExchange", "alert 10"),
        ("a second ClientHello", "alert 10"),
        // Once TLS 1.2 is chosen, a record must carry 0x0303 (the first flight may carry any 3.x).
        ("a second ClientHello in a 0x0301 record", "alert 70"),
        ("a client Certificate nobody asked for", "alert 10"),
        ("CertificateVerify without a certificate", "alert 10"),
        ("an unknown handshake message", "alert 10"),
        ("an empty ClientKeyExchange", "alert 40"),
        ("a ClientKeyExchange point off the curve", "alert 47"),
        ("application data before the handshake ends", "alert 10"),
        ("a warning alert (no_renegotiation) inside the handshake", "alert 40"),
        ("a heartbeat record", "alert 10"),
    ];

    /// <summary>
    /// A crafted client that follows the server's flight with the wrong message. In TLS 1.3 the server's alert is
    /// encrypted after its ServerHello, so what is compared there is that it closes (no hang, no answer to the garbage).
    /// </summary>
    [Theory]
    [MemberData(nameof(Misorderings))]
    public async Task ASkippedOrReorderedHandshakeMessageIsAnsweredAsSServerAnswersIt(string server, string next, string expected)
    {
        bool tls13 = next.StartsWith("TLS 1.3", StringComparison.Ordinal);
        byte[] hello = tls13 ? [.. GeneratedHellos.Build("TLS 1.3, 512 bytes").Segments.SelectMany(s => s)] : CraftedHello.Handshake(CraftedHello.Message());
        string answer = await CraftedHello.ConverseAsync(_servers.Port(server), hello, tls13 ? ServerHello : ServerHelloDone, Next(next));
        Assert.True(answer == expected, $"{server} answered {next} with {answer}, s_server with {expected}");
    }

    private static byte[] Next(string next)
    {
        byte[] changeCipherSpec = CraftedHello.Record(0x14, [1]);
        byte[] finished = Message(20, new byte[12]);
        var random = new Random(11);
        byte[] offCurve = new byte[64];
        random.NextBytes(offCurve);
        return next switch
        {
            "Finished before ClientKeyExchange" or "TLS 1.3: a plaintext Finished instead of an encrypted one" => CraftedHello.Handshake(finished),
            "ChangeCipherSpec before ClientKeyExchange" => changeCipherSpec,
            "a second ClientHello" => CraftedHello.Handshake(CraftedHello.Message()),
            "a second ClientHello in a 0x0301 record" => [.. ClientHelloBuilder.ToRecords(CraftedHello.Message(), 16384, recordVersion: 0x0301)],
            "TLS 1.3: a second ClientHello without a HelloRetryRequest" => [.. GeneratedHellos.Build("TLS 1.3, 2048 bytes").Segments.SelectMany(s => s)],
            "a client Certificate nobody asked for" => CraftedHello.Handshake(Message(11, [0, 0, 0])),
            "CertificateVerify without a certificate" => CraftedHello.Handshake(Message(15, [0x04, 0x03, 0, 8, .. new byte[8]])),
            "an unknown handshake message" => CraftedHello.Handshake(Message(99, [])),
            "an empty ClientKeyExchange" => CraftedHello.Handshake(Message(16, [])),
            // An uncompressed P-256 point of random coordinates, then what a client would send next.
            "a ClientKeyExchange point off the curve" =>
                [.. CraftedHello.Handshake(Message(16, [65, 0x04, .. offCurve])), .. changeCipherSpec, .. CraftedHello.Record(0x16, new byte[40])],
            "application data before the handshake ends" => CraftedHello.Record(0x17, "hello"u8),
            "a warning alert (no_renegotiation) inside the handshake" => CraftedHello.Record(0x15, [1, 100]),
            "a heartbeat record" => CraftedHello.Record(0x18, [1, 0, 0]),
            _ => throw new ArgumentOutOfRangeException(nameof(next)),
        };
    }

    private static byte[] Message(byte type, byte[] body) => [type, 0, (byte)(body.Length >> 8), (byte)body.Length, .. body];
}
