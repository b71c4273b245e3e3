using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Baton.AspNetCore;

/// <summary>
/// HTTP/2 cannot move per request: a browser coalesces requests for every name its connection's certificate covers
/// onto that connection, so an h2 request may name a host the front would route to another pool. Such a request is
/// answered <c>421 Misdirected Request</c> (RFC 9110 §15.5.20) before the app sees it; the browser retries it on a new
/// connection, which the front routes by its SNI. HTTP/1.1 requests never get here for another pool (the transport's
/// gate hands them back), and neither do path routes' requests on h2: a listener whose routes read the path offers only
/// HTTP/1.1 for the names those routes cover, so an h2 connection only ever carries names routed by SNI.
/// </summary>
internal sealed class MisdirectedRequestFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static (context, following) => IsMisdirected(context) ? AnswerAsync(context) : following(context));
        next(app);
    };

    private static bool IsMisdirected(HttpContext context) =>
        HttpProtocol.IsHttp2(context.Request.Protocol)
        && context.Features.Get<IBatonConnectionFeature>() is BatonConnection connection
        && connection.PoolForRequest(context.Request.Host.Host.ToLowerInvariant(), context.Request.Path.Value) is string pool
        && pool != connection.Pool;

    private static Task AnswerAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("421 Misdirected Request: this connection serves another pool; retry on a new connection\n");
    }
}
