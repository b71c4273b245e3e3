using Baton.Tests.Infrastructure;
using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>Session tickets under a <see cref="TicketKeyRing"/>: shared key files and rotation, checked with s_client.</summary>
public sealed class TicketKeyRingTests
{
    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task TicketFromOneContextResumesOnAnotherLoadedFromTheSameKeyFile(string version)
    {
        string keyFile = TempPath(), otherKeyFile = TempPath(), session = TempPath();
        try
        {
            await File.WriteAllBytesAsync(keyFile, [.. TicketKeyRing.GenerateKeyEntry(), .. TicketKeyRing.GenerateKeyEntry()]);
            await File.WriteAllBytesAsync(otherKeyFile, TicketKeyRing.GenerateKeyEntry());
            await using var first = new TlsTestServer(Context(TicketKeyRing.FromKeyFile(keyFile)), TlsTestServer.AnswerHttp);
            await using var second = new TlsTestServer(Context(TicketKeyRing.FromKeyFile(keyFile)), TlsTestServer.AnswerHttp);
            await using var stranger = new TlsTestServer(Context(TicketKeyRing.FromKeyFile(otherKeyFile)), TlsTestServer.AnswerHttp);

            Assert.Contains("New, ", await Request(first.Port, version, "-sess_out", session));
            Assert.Contains("Reused, ", await Request(second.Port, version, "-sess_in", session));
            Assert.Contains("New, ", await Request(stranger.Port, version, "-sess_in", session));
        }
        finally
        {
            foreach (string path in new[] { keyFile, otherKeyFile, session }) File.Delete(path);
        }
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task OldTicketResumesWithinTheWindowAfterRotationAndNotAfterIt(string version)
    {
        var time = new ManualTime();
        var ring = TicketKeyRing.CreateRotating(TimeSpan.FromHours(1), TimeSpan.FromHours(2), time);
        string session = TempPath();
        try
        {
            await using var server = new TlsTestServer(Context(ring), TlsTestServer.AnswerHttp);
            Assert.Contains("New, ", await Request(server.Port, version, "-sess_out", session));

            time.Advance(TimeSpan.FromMinutes(90)); // the next handshake rotates: the ticket's key now only decrypts
            Assert.Contains("Reused, ", await Request(server.Port, version, "-sess_in", session));
            time.Advance(TimeSpan.FromMinutes(100)); // 100 min since that key retired: still inside the 2 h window
            Assert.Contains("Reused, ", await Request(server.Port, version, "-sess_in", session));
            time.Advance(TimeSpan.FromMinutes(30)); // 130 min: dropped
            Assert.Contains("New, ", await Request(server.Port, version, "-sess_in", session));
        }
        finally
        {
            File.Delete(session);
        }
    }

    /// <summary>
    /// A TLS 1.3 resumption gets one fresh ticket under a ring exactly as under OpenSSL's own keys (the reference): a
    /// current key answering "valid, do not renew" would send none, and a client that keeps resuming would fall back to
    /// a full handshake once its first ticket expired.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ATls13ResumptionGetsOneFreshTicketThatResumesToo(bool underARing)
    {
        string session = TempPath(), fresh = TempPath();
        try
        {
            await using var server = new TlsTestServer(Context(underARing ? TicketKeyRing.FromKeys(TicketKeyRing.GenerateKeyEntry()) : null),
                TlsTestServer.AnswerHttp);
            Assert.Equal(2, Tickets(await Request(server.Port, "-tls1_3", "-sess_out", session)));
            string resumed = await Request(server.Port, "-tls1_3", "-sess_in", session, "-sess_out", fresh);
            Assert.Contains("Reused, ", resumed);
            Assert.Equal(1, Tickets(resumed));
            Assert.Contains("Reused, ", await Request(server.Port, "-tls1_3", "-sess_in", fresh));
        }
        finally
        {
            File.Delete(session);
            File.Delete(fresh);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(79)]
    [InlineData(81)]
    [InlineData(161)]
    public void KeyFileContentsMustBeWholeEntries(int length)
    {
        Assert.Throws<ArgumentException>(() => TicketKeyRing.FromKeys(new byte[length]));
    }

    [Fact]
    public void RotationSettingsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TicketKeyRing.CreateRotating(TimeSpan.Zero, TimeSpan.FromHours(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TicketKeyRing.CreateRotating(TimeSpan.FromHours(1), TimeSpan.FromSeconds(-1)));
    }

    /// <summary>Null: OpenSSL's own ticket keys.</summary>
    private static TlsServerContext Context(TicketKeyRing? ring)
    {
        var options = new TlsServerOptions { SessionTicketKeys = ring };
        options.Certificates.Add(TestCertificates.ToTlsCertificate(TestCertificates.Localhost));
        return TlsServerContext.Create(options);
    }

    /// <summary>One request; the server answers and closes, so s_client has seen the tickets and exits.</summary>
    private static async Task<string> Request(int port, params string[] arguments)
    {
        await using ChildProcess client = SClient.Start(port, arguments);
        await client.WriteLineAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r");
        await client.WaitForOutputAsync("hello from baton");
        client.CloseInput();
        await client.WaitForExitAsync();
        return client.Output;
    }

    private static int Tickets(string output) => output.Split("Post-Handshake New Session Ticket arrived").Length - 1;

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"baton-tickets-{Guid.NewGuid():N}");

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
