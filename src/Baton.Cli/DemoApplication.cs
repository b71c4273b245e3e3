using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Baton.AspNetCore;
using Baton.Hosting;

namespace Baton.Cli;

/// <summary>
/// The built-in worker application: an ASP.NET Core app on the Baton transport that answers every
/// request with a page of facts about the handoff — the worker's pid, its pool, the mode, TLS
/// version and suite, SNI, ALPN, the client address, the request as sent and the path as Kestrel
/// decoded it — so a person sees who served them.
/// </summary>
internal static class DemoApplication
{
    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!BatonWorker.IsStartedByFront)
        {
            Console.Error.WriteLine("baton worker: this command is started by `baton serve`, which passes it its channel");
            return 2;
        }
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseBaton();
        builder.Services.AddRoutingCore();
        // The front's console log settings as its environment gives them (Logging__Console__FormatterName=json), which workers inherit.
        builder.Configuration.AddEnvironmentVariables();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        FrontProgram.AddConsoleLogging(builder.Logging);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        await using WebApplication app = builder.Build();
        // The benchmarks' two resources, and a large download for transfer tests; everything else is the facts page.
        app.MapGet("/hello", () => Results.Text("hello\n"));
        app.MapGet("/1mb", () => Results.Bytes(OneMebibyte, "application/octet-stream"));
        app.MapGet("/download", (long bytes, HttpContext context) => DownloadAsync(context, bytes));
        // A WebSocket echo, so an upgraded connection (which the handback gate must pass through) can be tried.
        app.UseWebSockets();
        app.Map("/echo", EchoAsync);
        app.MapFallback(HandleAsync);
        await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.RunAsync(app, cancellationToken).ConfigureAwait(false);
        // 0 unless the Baton transport stopped the app because this worker could not go on.
        return Environment.ExitCode;
    }

    private static readonly byte[] OneMebibyte = DownloadPattern(1024 * 1024);

    /// <summary>The bytes of /download: 0, 1, ..., 255, 0, 1, ... so a client can check them without a second request.</summary>
    public static byte[] DownloadPattern(int length) => Enumerable.Range(0, length).Select(i => (byte)i).ToArray();

    private static async Task EchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using System.Net.WebSockets.WebSocket socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        byte[] buffer = new byte[4096];
        while (true)
        {
            System.Net.WebSockets.WebSocketReceiveResult received = await socket.ReceiveAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
            {
                await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, context.RequestAborted).ConfigureAwait(false);
                return;
            }
            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task DownloadAsync(HttpContext context, long bytes)
    {
        if (bytes is < 0 or > 1L << 30)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        byte[] block = DownloadPattern(64 * 1024);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes;
        for (long sent = 0; sent < bytes; sent += block.Length)
            await context.Response.Body.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, bytes - sent)), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task HandleAsync(HttpContext context)
    {
        if (HttpMethods.IsConnect(context.Request.Method))
        {
            // Not a proxy. A 2xx to CONNECT may carry no Content-Length, so the facts page would be a 500.
            await ErrorAsync(context, StatusCodes.Status501NotImplemented, "CONNECT is not supported: this server is not a proxy").ConfigureAwait(false);
            return;
        }
        long length;
        string digest;
        try
        {
            (length, digest) = await HashBodyAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // The client's fault (413 for a body past MaxRequestBodySize, 400 for a broken chunk): answered here,
            // because an exception left to Kestrel is logged as an application error with its stack trace.
            await ErrorAsync(context, ex.StatusCode, ex.Message).ConfigureAwait(false);
            return;
        }
        byte[] page = System.Text.Encoding.UTF8.GetBytes(FactsPage(context, length, digest));
        context.Response.ContentType = "text/plain; charset=utf-8";
        // A Content-Length rather than chunking: simple clients read exactly the page.
        context.Response.ContentLength = page.Length;
        await context.Response.Body.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync($"{status} {message}\n", context.RequestAborted);
    }

    /// <summary>Reads the whole request body (Content-Length or chunked or HTTP/2 DATA) and hashes it.</summary>
    private static async Task<(long Length, string Sha256)> HashBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        long length = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                length += read;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static string FactsPage(HttpContext context, long bodyLength, string bodyDigest)
    {
        IBatonConnectionFeature? baton = context.Features.Get<IBatonConnectionFeature>();
        ITlsHandshakeFeature? tls = context.Features.Get<ITlsHandshakeFeature>();
        ITlsApplicationProtocolFeature? alpn = context.Features.Get<ITlsApplicationProtocolFeature>();
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path;
        string clientCertificate = context.Connection.ClientCertificate is { } certificate
            ? $"{certificate.Subject}; sha1 {certificate.Thumbprint}" : "-";
        string client = context.Connection.RemoteIpAddress is IPAddress address
            ? new IPEndPoint(address, context.Connection.RemotePort).ToString() : "-";
        return $"""
            Hello from Baton.
            worker pid: {Environment.ProcessId}
            pool: {baton?.Pool ?? "-"}
            mode: {baton?.Mode.ToString().ToLowerInvariant() ?? "-"}
            tls: {baton?.TlsProtocolName ?? "-"} {baton?.CipherSuiteName ?? "-"}
            sni: {(string.IsNullOrEmpty(tls?.HostName) ? "-" : tls.HostName)}
            alpn: {(alpn is null || alpn.ApplicationProtocol.IsEmpty ? "-" : System.Text.Encoding.ASCII.GetString(alpn.ApplicationProtocol.Span))}
            client: {client}
            client certificate: {clientCertificate}
            request: {context.Request.Method} {target} {context.Request.Protocol}
            path: {context.Request.Path.Value}
            body: {bodyLength} bytes, sha256 {bodyDigest}

            """;
    }
}
