using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Baton.AspNetCore;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Makes an ASP.NET Core app a Baton worker.</summary>
public static class BatonWebHostBuilderExtensions
{
    /// <summary>
    /// When the process was started by a Baton front, Kestrel serves the connections the front hands
    /// over (TLS already taken care of: the TLS facts arrive as Kestrel's TLS features) instead of
    /// listening on ports. Without a front the app runs unchanged, or, with
    /// <see cref="Baton.AspNetCore.BatonTransportOptions.RequireFront"/>, throws an <see cref="InvalidOperationException"/>
    /// whose message says how to start it. Started by a front whose pool has a <c>User</c>, the process switches to
    /// that user here: call it right after creating the builder, since what ran before still ran as the front's user.
    /// <code>builder.WebHost.UseBaton();</code>
    /// </summary>
    public static IWebHostBuilder UseBaton(this IWebHostBuilder builder, Action<Baton.AspNetCore.BatonTransportOptions>? configure = null)
    {
        // The pool's User, now rather than when Kestrel binds: the app's services, its code between Build() and
        // Run() and its hosted services must not run as the front's user (root), which can read the key files.
        if (Baton.AspNetCore.BatonWorker.IsStartedByFront)
            Baton.Worker.WorkerListener.AssumeWorkerUser();
        var options = new Baton.AspNetCore.BatonTransportOptions();
        configure?.Invoke(options);
        if (!Baton.AspNetCore.BatonWorker.IsStartedByFront)
        {
            if (!options.RequireFront)
                return builder;
            throw new InvalidOperationException(
                $"{AppDomain.CurrentDomain.FriendlyName} is a Baton worker: start it from `baton serve` (a pool with \"Command\"), which passes it its channel");
        }
        return builder.ConfigureServices(services =>
        {
            services.Configure<Baton.AspNetCore.BatonTransportOptions>(o =>
            {
                o.RequireFront = options.RequireFront;
                o.MaxReadBufferSize = options.MaxReadBufferSize;
                o.MaxWriteBufferSize = options.MaxWriteBufferSize;
            });
            services.AddSingleton<IConnectionListenerFactory, Baton.AspNetCore.BatonConnectionListenerFactory>();
            // An h2 request for another pool's host (a coalesced connection) is answered 421 before the app sees it.
            services.AddSingleton<IStartupFilter, Baton.AspNetCore.MisdirectedRequestFilter>();
            // Protocols stay at their default (HTTP/1.1 and HTTP/2): the connection's ALPN picks one.
            services.Configure<KestrelServerOptions>(kestrel => kestrel.Listen(new Baton.AspNetCore.BatonEndPoint()));
        });
    }
}
