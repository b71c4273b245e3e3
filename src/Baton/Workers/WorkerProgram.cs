using Baton.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Workers;

/// <summary>Serves one connection: the plaintext stream is open; <paramref name="draining"/> fires on SIGTERM.</summary>
public delegate Task WorkerConnectionHandler(WorkerConnection connection, Stream stream, CancellationToken draining);

/// <summary>
/// The simplest worker host: a process started by the front that runs <see cref="WorkerConnectionHandler"/>
/// for each connection it is handed. ASP.NET Core apps use Baton.AspNetCore instead.
/// </summary>
public static class WorkerProgram
{
    public static async Task<int> RunAsync(WorkerConnectionHandler handler, CancellationToken cancellationToken)
    {
        if (!WorkerListener.IsStartedByFront)
        {
            Console.Error.WriteLine("baton worker: this command is started by `baton serve`, which passes it its channel");
            return 2;
        }
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        FrontProgram.AddConsoleLogging(builder.Logging);
        builder.Services.AddSingleton(handler);
        builder.Services.AddHostedService<WorkerService>();
        // The front enforces the real deadline (it kills workers that outlive it).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        using IHost host = builder.Build();
        await host.RunAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}

/// <summary>Accepts handed-off connections until the channel closes or SIGTERM, then drains.</summary>
internal sealed class WorkerService : BackgroundService
{
    private readonly WorkerConnectionHandler _handler;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime _lifetime;
    private int _active;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkerService(WorkerConnectionHandler handler, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime)
    {
        _handler = handler;
        _logger = loggerFactory.CreateLogger("Baton.Worker");
        _lifetime = lifetime;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using WorkerListener listener = WorkerListener.FromEnvironment(_logger);
        await listener.StartAsync(stoppingToken).ConfigureAwait(false);
        Interlocked.Increment(ref _active);
        try
        {
            while (await AcceptAsync(listener, stoppingToken).ConfigureAwait(false) is WorkerConnection connection)
            {
                Interlocked.Increment(ref _active);
                _ = ServeAsync(connection, stoppingToken);
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) > 0)
            {
                _logger.WorkerDraining(Environment.ProcessId, Volatile.Read(ref _active));
                await _idle.Task.ConfigureAwait(false);
            }
        }
        _lifetime.StopApplication();
    }

    private static async Task<WorkerConnection?> AcceptAsync(WorkerListener listener, CancellationToken stoppingToken)
    {
        try
        {
            return await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task ServeAsync(WorkerConnection connection, CancellationToken draining)
    {
        try
        {
            await using (connection.ConfigureAwait(false))
            {
                Stream stream = await connection.OpenAsync(draining).ConfigureAwait(false);
                await _handler(connection, stream, draining).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.WorkerConnectionFailed(connection.Id, ex.Message);
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) == 0)
                _idle.TrySetResult();
        }
    }
}
