using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Baton.Worker;

namespace Baton.AspNetCore;

/// <summary>
/// Binds <see cref="BatonEndPoint"/>: opens the channel the front passed at spawn, receives the pool
/// settings, reports Ready and starts taking the connections the front hands over. Registered by <c>UseBaton</c>.
/// </summary>
internal sealed class BatonConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly BatonTransportOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly IMemoryPoolFactory<byte> _memoryPoolFactory;

    public BatonConnectionListenerFactory(
        IOptions<BatonTransportOptions> options, IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory,
        IMemoryPoolFactory<byte> memoryPoolFactory)
    {
        _options = options.Value;
        _memoryPoolFactory = memoryPoolFactory;
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
        // Kestrel's own pool of pinned 4 KiB blocks (as its socket transport uses): no allocation per rent.
        MemoryPool<byte> pool = _memoryPoolFactory.Create(new MemoryPoolOptions { Owner = "baton" });
        var listener = new BatonConnectionListener(worker, pool, _options, _lifetime, _logger);
        listener.Start();
        return listener;
    }
}
