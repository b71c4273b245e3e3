using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json;
using Baton.Tests.Infrastructure;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// A real TLS client (.NET SslStream) handshakes with a real TLS server (Python's ssl over libssl), which then steps
/// aside: the session continues between SslStream and TlsRecordStream, as after a handoff. This checks our records
/// against an independent TLS implementation, both ways, including close_notify.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RealTlsInteropTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("baton-records-").FullName;

    public async Task InitializeAsync()
    {
        ProcessResult made = await ChildProcess.RunAsync("openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{_dir}/key.pem", "-out", $"{_dir}/cert.pem", "-days", "1", "-subj", "/CN=localhost"]);
        Assert.True(made.ExitCode == 0, made.StandardError);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(SslProtocols.Tls13, TlsCipherSuite.TLS_AES_128_GCM_SHA256, (ushort)0x1301)]
    [InlineData(SslProtocols.Tls13, TlsCipherSuite.TLS_AES_256_GCM_SHA384, (ushort)0x1302)]
    [InlineData(SslProtocols.Tls13, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, (ushort)0x1303)]
    [InlineData(SslProtocols.Tls12, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, (ushort)0xC02F)]
    [InlineData(SslProtocols.Tls12, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, (ushort)0xC030)]
    [InlineData(SslProtocols.Tls12, TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, (ushort)0xCCA8)]
    public async Task SslStreamClientTalksToTheRecordLayer(SslProtocols protocol, TlsCipherSuite cipherSuite, ushort expectedSuite)
    {
        using var workerListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        workerListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        workerListener.Listen(1);
        string version = protocol == SslProtocols.Tls13 ? "1.3" : "1.2";
        await using ChildProcess server = StartServer(((IPEndPoint)workerListener.LocalEndPoint!).Port, version);
        try
        {
            int port = int.Parse((await ReadLineAsync(server, "PORT ")).AsSpan(5));
            using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await clientSocket.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Deadline);
            await using var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: false));
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocol,
                CipherSuitesPolicy = new CipherSuitesPolicy([cipherSuite]),
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }).WaitAsync(Deadline);
            Assert.Equal(cipherSuite, client.NegotiatedCipherSuite);

            using JsonDocument secrets = JsonDocument.Parse((await ReadLineAsync(server, "SECRETS ")).AsSpan(8).ToString());
            using Socket workerSocket = await workerListener.AcceptAsync().WaitAsync(Deadline);
            TlsSessionState state = StateFrom(secrets.RootElement, expectedSuite);
            await using var worker = new TlsRecordStream(new NetworkStream(workerSocket, ownsSocket: false), state);

            await client.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray()).AsTask().WaitAsync(Deadline);
            Assert.Equal("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), await ReadExactlyAsync(worker, 18));

            // TLS 1.3: a KeyUpdate(update_requested) from the worker: libssl must follow it and answer with its own.
            bool tls13 = protocol == SslProtocols.Tls13;
            byte[] clientSecret = state.ReadSecret.ToArray();
            if (tls13) await worker.SendKeyUpdateAsync(requestPeerUpdate: true, CancellationToken.None).WaitAsync(Deadline);
            byte[] response = RandomNumberGenerator.GetBytes(100_000);
            await worker.WriteAsync(response).AsTask().WaitAsync(Deadline);
            Assert.Equal(response, await ReadExactlyAsync(client, response.Length));

            byte[] upload = RandomNumberGenerator.GetBytes(70_000);
            await client.WriteAsync(upload).AsTask().WaitAsync(Deadline);
            Assert.Equal(upload, await ReadExactlyAsync(worker, upload.Length));
            Assert.Equal(tls13, !clientSecret.SequenceEqual(state.ReadSecret)); // the client's KeyUpdate arrived and was applied

            await worker.ShutdownAsync().WaitAsync(Deadline);
            Assert.Equal(0, await client.ReadAsync(new byte[16]).AsTask().WaitAsync(Deadline)); // close_notify understood
            await client.ShutdownAsync().WaitAsync(Deadline);
            Assert.Equal(0, await worker.ReadAsync(new byte[16]).AsTask().WaitAsync(Deadline));
        }
        finally
        {
            server.Kill();
        }
    }

    private static TlsSessionState StateFrom(JsonElement secrets, ushort suite)
    {
        byte[] Get(string name) => Convert.FromHexString(secrets.GetProperty(name).GetString()!);
        if (secrets.GetProperty("version").GetString() == "TLSv1.3")
        {
            // num_tickets = 0: nothing was sent under the application keys yet.
            return TlsSessionState.FromTls13(suite, Get("CLIENT_TRAFFIC_SECRET_0"), Get("SERVER_TRAFFIC_SECRET_0"), 0, 0);
        }
        // TLS 1.2: each side's Finished was record 0 of its epoch.
        return TlsSessionState.FromTls12(suite, Get("CLIENT_RANDOM"), Get("client_random"), Get("server_random"), 1, 1);
    }

    private ChildProcess StartServer(int workerPort, string version, [CallerFilePath] string thisFile = "")
    {
        string script = Path.Combine(Path.GetDirectoryName(thisFile)!, "handoff_tls_server.py");
        return ChildProcess.Start("python3", [script, $"{_dir}/cert.pem", $"{_dir}/key.pem", workerPort.ToString(), version, $"{_dir}/keylog.txt"]);
    }

    private static Task<string> ReadLineAsync(ChildProcess server, string prefix) =>
        server.WaitForLineAsync(line => line.StartsWith(prefix, StringComparison.Ordinal), $"the server prints its {prefix.Trim()} line", Deadline);
}
