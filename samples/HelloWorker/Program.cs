using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using Baton.AspNetCore;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

// An ordinary ASP.NET Core app. The one Baton line: when `baton serve` starts this process as a
// pool's worker, Kestrel serves the connections the front hands over; started by hand, it is a
// plain app listening where ASPNETCORE_URLS says.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseBaton();
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

WebApplication app = builder.Build();
// Startup code runs as the pool's User (UseBaton switched to it), not as the front's root.
Console.WriteLine($"HelloWorker {Environment.ProcessId} starting as {Environment.UserName}");

// A request that takes a while: shows that a worker told to stop finishes it first.
app.MapGet("/slow", async (int ms, HttpContext context) =>
{
    Console.WriteLine($"slow request started in worker {Environment.ProcessId}");
    await Task.Delay(ms);
    return Results.Text(await FactsAsync(context));
});

app.Map("/{**path}", async (HttpContext context) =>
{
    byte[] facts = System.Text.Encoding.UTF8.GetBytes(await FactsAsync(context));
    context.Response.ContentType = "text/plain; charset=utf-8";
    context.Response.ContentLength = facts.Length;
    await context.Response.Body.WriteAsync(facts);
});

app.Run();

// What the app knows about its client and the TLS session, all from Kestrel's own features.
static async Task<string> FactsAsync(HttpContext context)
{
    using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    byte[] buffer = new byte[16 * 1024];
    long length = 0;
    for (int read; (read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0; length += read)
        sha256.AppendData(buffer, 0, read);

    var tls = context.Features.Get<ITlsHandshakeFeature>();
    var alpn = context.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol ?? default;
    var baton = context.Features.Get<IBatonConnectionFeature>();
    string version = tls?.Protocol switch { SslProtocols.Tls13 => "TLSv1.3", SslProtocols.Tls12 => "TLSv1.2", _ => "-" };
    string client = context.Connection.RemoteIpAddress is IPAddress ip ? new IPEndPoint(ip, context.Connection.RemotePort).ToString() : "-";
    return $"""
        Hello from HelloWorker.
        worker pid: {Environment.ProcessId}
        pool: {baton?.Pool ?? "-"}
        mode: {baton?.Mode.ToString().ToLowerInvariant() ?? "-"}
        tls: {version} {tls?.NegotiatedCipherSuite?.ToString() ?? "-"}
        sni: {(string.IsNullOrEmpty(tls?.HostName) ? "-" : tls.HostName)}
        alpn: {(alpn.IsEmpty ? "-" : System.Text.Encoding.ASCII.GetString(alpn.Span))}
        client: {client}
        request: {context.Request.Method} {context.Features.Get<IHttpRequestFeature>()?.RawTarget} {context.Request.Protocol}
        body: {length} bytes, sha256 {Convert.ToHexStringLower(sha256.GetHashAndReset())}

        """;
}
