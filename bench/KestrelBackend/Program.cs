using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// The shared backend of bench/compare.sh's proxy contenders: plain HTTP/1.1 on 127.0.0.1:<port>, the two
// resources of Baton's built-in worker built the same way (src/Baton.Cli/DemoApplication.cs: an empty
// builder, Kestrel core, routing core, /hello -> Results.Text("hello\n"), /1mb -> 1 MiB of 0, 1, ..., 255, ...),
// so "proxy -> this app" and "Baton -> its worker" run the same application code.
// Usage: KestrelBackend <port>
if (args.Length != 1 || !int.TryParse(args[0], out int port))
{
    Console.Error.WriteLine("usage: KestrelBackend <port>");
    return 2;
}

byte[] oneMebibyte = Enumerable.Range(0, 1024 * 1024).Select(i => (byte)i).ToArray();

WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
builder.WebHost.UseKestrelCore();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, port);
    // The proxies keep their pooled connections to it open between measures, as nginx's keepalive_timeout 600s does.
    kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(10);
});
builder.Services.AddRoutingCore();
builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
await using WebApplication app = builder.Build();
app.MapGet("/hello", () => Results.Text("hello\n"));
app.MapGet("/1mb", () => Results.Bytes(oneMebibyte, "application/octet-stream"));
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"backend ready: http://127.0.0.1:{port}"));
await app.RunAsync();
return 0;
