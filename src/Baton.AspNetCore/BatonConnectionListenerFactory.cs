using System.Net;
using Baton.Workers;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.AspNetCore;

/// <summary>
/// Binds <see cref="BatonEndPoint"/>: opens the channel the front passed at spawn, receives the pool
/// settings, reports Ready and starts taking the connections the front hands over.
/// </summary>
public sealed class BatonConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly BatonTransportOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;

    public BatonConnectionListenerFactory(IOptions<BatonTransportOptions> options, IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _lifetime = lifetime;
        _logger = loggerFactory.CreateLogger("Baton.Worker");
    }

    public bool CanBind(EndPoint endpoint) => endpoint is BatonEndPoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not BatonEndPoint)
            throw new NotSupportedException($"{endpoint.GetType().Name} is not supported by the Baton transport.");
        WorkerListener worker = WorkerListener.FromEnvironment(_logger);
        try
        {
            await worker.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await worker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var listener = new BatonConnectionListener(worker, _options, _lifetime, _logger);
        listener.Start();
        return listener;
    }
}
