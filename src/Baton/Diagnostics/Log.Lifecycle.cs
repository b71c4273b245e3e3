using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>Log lines of the service-manager integration and the binary upgrade (event ids 120–139).</summary>
internal static partial class Log
{
    [LoggerMessage(120, LogLevel.Warning, "sd_notify {Message} not sent: {Reason}")]
    public static partial void ServiceNotifyFailed(this ILogger logger, string message, string reason);

    [LoggerMessage(121, LogLevel.Information, "listening on {Address} (listener {Listener}, PROXY protocol {Proxy}; socket from {Source})")]
    public static partial void ListeningInherited(this ILogger logger, string address, string listener, bool proxy, string source);

    [LoggerMessage(122, LogLevel.Information, "upgrade: starting a new front with the {Count} listening sockets: {Command}")]
    public static partial void UpgradeStarting(this ILogger logger, int count, string command);

    [LoggerMessage(123, LogLevel.Information,
        "upgrade: new front pid={Pid} ready after {Elapsed}; this front (pid={OldPid}) stops accepting, hands off what it holds and drains its workers")]
    public static partial void UpgradeSucceeded(this ILogger logger, int pid, TimeSpan elapsed, int oldPid);

    [LoggerMessage(124, LogLevel.Error, "upgrade failed, this front keeps serving: {Reason}")]
    public static partial void UpgradeFailed(this ILogger logger, string reason);

    [LoggerMessage(125, LogLevel.Information, "SIGUSR2: binary upgrade requested")]
    public static partial void UpgradeRequested(this ILogger logger);

    [LoggerMessage(126, LogLevel.Information, "upgrade: told the previous front pid={Pid} that this front is ready")]
    public static partial void UpgradeReadySent(this ILogger logger, int pid);

    [LoggerMessage(127, LogLevel.Information, "handing off the {Held} connections the front still holds before the workers stop (up to {Deadline})")]
    public static partial void DrainingHeldConnections(this ILogger logger, int held, TimeSpan deadline);
}
