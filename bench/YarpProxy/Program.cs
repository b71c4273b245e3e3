using System.Net;
using System.Security.Cryptography.X509Certificates;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

// YARP terminating TLS on Kestrel for bench/compare.sh: the same PEM certificate and TLS 1.3 suite order as
// every other contender, every path forwarded to the shared plain-HTTP backend (bench/KestrelBackend) over
// YARP's pooled SocketsHttpHandler connections (HTTP/1.1, keep-alive).
// Usage: YarpProxy <port> <cert.pem> <key.pem> <backend-port>
if (args.Length != 4 || !int.TryParse(args[0], out int port) || !int.TryParse(args[3], out int backendPort))
{
    Console.Error.WriteLine("usage: YarpProxy <port> <cert.pem> <key.pem> <backend-port>");
    return 2;
}

var certificate = X509Certificate2.CreateFromPemFile(args[1], args[2]);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
// Baton's TLS 1.3 suite order comes from bench/contenders/openssl-server.cnf (compare.sh sets OPENSSL_CONF), not
// from a CipherSuitesPolicy: on Linux a policy makes SslStream build an SSL_CTX per connection, which turns off
// session resumption.
builder.WebHost.ConfigureKestrel(kestrel =>
    kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));

RouteConfig[] routes = [new() { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "{**catch-all}" } }];
ClusterConfig[] clusters = [new()
{
    ClusterId = "backend",
    Destinations = new Dictionary<string, DestinationConfig> { ["app"] = new() { Address = $"http://127.0.0.1:{backendPort}/" } },
    // HTTP/1.1 to the backend, as nginx, HAProxy and hitch's backends speak; connections are pooled and kept alive.
    HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower },
    HttpClient = new HttpClientConfig { MaxConnectionsPerServer = null, EnableMultipleHttp2Connections = false },
}];
builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);

var app = builder.Build();
app.MapReverseProxy();
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"yarp ready: https://127.0.0.1:{port} -> http://127.0.0.1:{backendPort}"));
app.Run();
return 0;
