using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Baton.Diagnostics;

namespace Baton.Hosting;

/// <summary>
/// Tells whoever started the front where it is: once every hosted service has started (the front accepts), READY=1
/// to the service manager, or to the old front when this one was started by a binary upgrade (<see cref="UpgradeChannel"/>);
/// STOPPING=1 when it begins to stop.
/// </summary>
internal sealed class ServiceLifecycle : IHostedService
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ServiceNotifier _notifier;
    private readonly UpgradeChannel? _upgrade;
    private readonly ILogger _logger;

    public ServiceLifecycle(IHostApplicationLifetime lifetime, ServiceNotifier notifier, StartedBy startedBy, ILoggerFactory loggerFactory)
    {
        _lifetime = lifetime;
        _notifier = notifier;
        _upgrade = startedBy.Upgrade;
        _logger = loggerFactory.CreateLogger("Baton.Front");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStarted.Register(Started);
        _lifetime.ApplicationStopping.Register(() => _notifier.Stopping($"stopping: front pid {Environment.ProcessId} drains its workers"));
        return Task.CompletedTask;
    }

    private void Started()
    {
        string status = $"serving: front pid {Environment.ProcessId}";
        if (_upgrade is null)
        {
            _notifier.Ready(status);
            return;
        }
        // The old front hands the service over to this pid (MAINPID=); until then the service manager hears from it.
        if (_upgrade.SignalReady())
            _logger.UpgradeReadySent(_upgrade.ParentPid);
        _upgrade.Dispose();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>How this front was started: by a binary upgrade (with its channel to the old front) or not.</summary>
internal sealed record StartedBy(UpgradeChannel? Upgrade);
