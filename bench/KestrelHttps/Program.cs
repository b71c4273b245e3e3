using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

// Minimal Kestrel HTTPS server for bench/compare.sh: the same two resources as every other contender,
// the same PEM certificate. Usage: KestrelHttps <port> <cert.pem> <key.pem>
if (args.Length != 3 || !int.TryParse(args[0], out int port))
{
    Console.Error.WriteLine("usage: KestrelHttps <port> <cert.pem> <key.pem>");
    return 2;
}

var certificate = X509Certificate2.CreateFromPemFile(args[1], args[2]);
byte[] hello = "hello\n"u8.ToArray();
byte[] oneMebibyte = new byte[1024 * 1024];
Array.Fill(oneMebibyte, (byte)'x');

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
// Baton's TLS 1.3 suite order, so every contender encrypts with AES-128-GCM (.NET applies the server's order).
CipherSuitesPolicy? suites = !OperatingSystem.IsLinux() ? null : new CipherSuitesPolicy([
    TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]);
builder.WebHost.ConfigureKestrel(kestrel =>
    kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(https =>
    {
        https.ServerCertificate = certificate;
        https.OnAuthenticate = (_, ssl) => ssl.CipherSuitesPolicy = suites;
    })));

var app = builder.Build();
app.MapGet("/hello", () => Results.Bytes(hello, "text/plain"));
app.MapGet("/1mb", () => Results.Bytes(oneMebibyte, "application/octet-stream"));
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"kestrel ready: https://127.0.0.1:{port}"));
app.Run();
return 0;
