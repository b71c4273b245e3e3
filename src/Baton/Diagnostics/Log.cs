using Microsoft.Extensions.Logging;
using Baton.Tls;

namespace Baton.Diagnostics;

/// <summary>Every log line the front and the workers write, as source-generated LoggerMessage methods.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "worker started: pool={Pool} pid={Pid}")]
    public static partial void WorkerStarted(this ILogger logger, string pool, int pid);

    [LoggerMessage(2, LogLevel.Information, "worker ready: pool={Pool} pid={Pid}")]
    public static partial void WorkerReady(this ILogger logger, string pool, int pid);

    [LoggerMessage(3, LogLevel.Warning, "worker exited: pool={Pool} pid={Pid} ({Exit}); restarting")]
    public static partial void WorkerExited(this ILogger logger, string pool, int pid, string exit);

    [LoggerMessage(4, LogLevel.Information, "worker stopped: pool={Pool} pid={Pid} ({Exit})")]
    public static partial void WorkerStopped(this ILogger logger, string pool, int pid, string exit);

    [LoggerMessage(5, LogLevel.Error, "worker could not start: pool={Pool}: {Reason}")]
    public static partial void WorkerStartFailed(this ILogger logger, string pool, string reason);

    [LoggerMessage(6, LogLevel.Error, "worker channel closed: pool={Pool} pid={Pid}: {Reason}")]
    public static partial void WorkerChannelFailed(this ILogger logger, string pool, int pid, string reason);

    [LoggerMessage(7, LogLevel.Warning, "worker killed at the shutdown deadline: pool={Pool} pid={Pid}")]
    public static partial void WorkerKilledAtDeadline(this ILogger logger, string pool, int pid);

    [LoggerMessage(8, LogLevel.Warning, "worker not answering: pool={Pool} pid={Pid}: {Reason}; killing it")]
    public static partial void WorkerUnresponsive(this ILogger logger, string pool, int pid, string reason);

    [LoggerMessage(10, LogLevel.Warning, "connection {Id} from {Remote} failed: reason={Reason}: {Detail}")]
    public static partial void ConnectionFailed(this ILogger logger, ulong id, System.Net.IPEndPoint? remote, string reason, string detail);

    [LoggerMessage(12, LogLevel.Warning,
        "connection failures in the last {IntervalSeconds} s: reason={Reason} count={Count} (the first {Logged} logged above; first not logged: {FirstNotLogged})")]
    public static partial void ConnectionFailuresSummarised(this ILogger logger, double intervalSeconds, string reason, long count, int logged, string firstNotLogged);

    [LoggerMessage(13, LogLevel.Debug, "connection {Id} from {Remote} closed before sending anything (reason=preconnect)")]
    public static partial void ConnectionClosedUnused(this ILogger logger, ulong id, System.Net.IPEndPoint? remote);

    [LoggerMessage(11, LogLevel.Debug, "connection {Id} from {Remote} handed to pool={Pool}")]
    public static partial void ConnectionHandedOff(this ILogger logger, ulong id, System.Net.IPEndPoint? remote, string pool);

    [LoggerMessage(20, LogLevel.Information, "listening on {Address} (listener {Listener}, PROXY protocol {Proxy})")]
    public static partial void Listening(this ILogger logger, string address, string listener, bool proxy);

    [LoggerMessage(21, LogLevel.Information, "baton ready: {Listeners}; workers: {Workers}")]
    public static partial void Ready(this ILogger logger, string listeners, string workers);

    [LoggerMessage(22, LogLevel.Information, "shutting down: draining workers for up to {Deadline}")]
    public static partial void ShuttingDown(this ILogger logger, TimeSpan deadline);

    [LoggerMessage(23, LogLevel.Information, "self-signed certificate for localhost made in memory, SHA-256 fingerprint {Fingerprint}")]
    public static partial void SelfSignedCertificate(this ILogger logger, string fingerprint);

    [LoggerMessage(24, LogLevel.Error, "accept failed on {Listener}: {Reason}")]
    public static partial void AcceptFailed(this ILogger logger, string listener, string reason);

    [LoggerMessage(25, LogLevel.Warning, "configuration: {Warning}")]
    public static partial void ConfigurationWarning(this ILogger logger, string warning);

    [LoggerMessage(26, LogLevel.Warning, "SIGHUP ignored: reload is not implemented yet")]
    public static partial void HangupIgnored(this ILogger logger);

    [LoggerMessage(30, LogLevel.Information, "worker pid={Pid} pool={Pool} mode={Mode} certificates={Certificates} serving")]
    public static partial void WorkerServing(this ILogger logger, int pid, string pool, string mode, int certificates);

    [LoggerMessage(33, LogLevel.Information, "worker pid={Pid}: handoff records in {RecordLayer}")]
    public static partial void WorkerRecordLayer(this ILogger logger, int pid, string recordLayer);

    [LoggerMessage(31, LogLevel.Warning, "worker connection {Id} failed: {Reason}")]
    public static partial void WorkerConnectionFailed(this ILogger logger, ulong id, string reason);
}
