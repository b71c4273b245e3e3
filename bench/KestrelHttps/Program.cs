using System.Net;
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
// The bytes Baton's built-in worker serves (0, 1, ..., 255, 0, 1, ...), as every contender of compare.sh does.
byte[] oneMebibyte = Enumerable.Range(0, 1024 * 1024).Select(i => (byte)i).ToArray();

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
// Baton's TLS 1.3 suite order comes from bench/contenders/openssl-server.cnf (compare.sh sets OPENSSL_CONF), not
// from a CipherSuitesPolicy: on Linux a policy makes SslStream build an SSL_CTX per connection, which turns off
// session resumption.
builder.WebHost.ConfigureKestrel(kestrel =>
    kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));

var app = builder.Build();
app.MapGet("/hello", () => Results.Bytes(hello, "text/plain"));
app.MapGet("/1mb", () => Results.Bytes(oneMebibyte, "application/octet-stream"));
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"kestrel ready: https://127.0.0.1:{port}"));
app.Run();
return 0;
