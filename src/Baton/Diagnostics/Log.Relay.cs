using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>The relay worker's log lines (proxy mode; event ids 180–199).</summary>
internal static partial class Log
{
    [LoggerMessage(180, LogLevel.Information, "relay pid={Pid} pool={Pool}: relaying to {Backends} (PROXY v2 header {ProxyProtocol}; {RecordLayer})")]
    public static partial void RelayServing(this ILogger logger, int pid, string pool, string backends, bool proxyProtocol, string recordLayer);

    [LoggerMessage(181, LogLevel.Warning, "relay pid={Pid}: backend {Backend} is down ({Reason}); left out, next try in {Backoff}")]
    public static partial void BackendDown(this ILogger logger, int pid, string backend, string reason, TimeSpan backoff);

    [LoggerMessage(182, LogLevel.Information, "relay pid={Pid}: backend {Backend} is up again")]
    public static partial void BackendUp(this ILogger logger, int pid, string backend);

    [LoggerMessage(183, LogLevel.Debug, "connection {Id} relayed to {Backend}: reason={Reason}, {ClientBytes} bytes from the client, {BackendBytes} from the backend")]
    public static partial void RelayEnded(this ILogger logger, ulong id, string backend, string reason, long clientBytes, long backendBytes);

    [LoggerMessage(184, LogLevel.Information, "relay pid={Pid}: draining {Count} relayed connections")]
    public static partial void RelayDraining(this ILogger logger, int pid, int count);
}
