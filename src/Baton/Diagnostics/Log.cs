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

    [LoggerMessage(200, LogLevel.Debug, "connection {Id} handed back by pool={FromPool} pid={Pid}; its next request goes to pool={Pool} as connection {NewId}")]
    public static partial void ConnectionHandedBack(this ILogger logger, ulong id, string fromPool, int pid, string pool, ulong newId);

    [LoggerMessage(201, LogLevel.Warning, "connection {Id} handed back by pool={FromPool} could not continue: {Reason}")]
    public static partial void HandbackFailed(this ILogger logger, ulong id, string fromPool, string reason);

    [LoggerMessage(20, LogLevel.Information, "listening on {Address} (listener {Listener}, PROXY protocol {Proxy})")]
    public static partial void Listening(this ILogger logger, string address, string listener, bool proxy);

    // The front's pid is here for `dotnet-counters monitor -p`: the workers are processes named baton too.
    [LoggerMessage(21, LogLevel.Information, "baton ready: {Listeners}; front pid={Pid}; workers: {Workers}")]
    public static partial void Ready(this ILogger logger, int pid, string listeners, string workers);

    [LoggerMessage(22, LogLevel.Information, "shutting down: draining workers for up to {Deadline}")]
    public static partial void ShuttingDown(this ILogger logger, TimeSpan deadline);

    [LoggerMessage(23, LogLevel.Information, "self-signed certificate for localhost made in memory, SHA-256 fingerprint {Fingerprint}")]
    public static partial void SelfSignedCertificate(this ILogger logger, string fingerprint);

    [LoggerMessage(24, LogLevel.Error, "accept failed on {Listener}: {Reason}; retrying every 100 ms, logged again once an accept succeeds")]
    public static partial void AcceptFailed(this ILogger logger, string listener, string reason);

    [LoggerMessage(19, LogLevel.Information, "accepting again on {Listener} after {Failures} failed accepts")]
    public static partial void AcceptRecovered(this ILogger logger, string listener, int failures);

    [LoggerMessage(25, LogLevel.Warning, "configuration: {Warning}")]
    public static partial void ConfigurationWarning(this ILogger logger, string warning);

    [LoggerMessage(EventId = 27, Message = "front connection cap: {Cap} held at once (Limits:MaxFrontConnections {Configured}; descriptor limit {Limit}: {Open} open, {Reserve} kept free)")]
    public static partial void ConnectionCap(this ILogger logger, LogLevel level, int cap, int configured, string limit, int open, int reserve);

    [LoggerMessage(28, LogLevel.Warning, "front under connection pressure: {Held} of {Cap} connections held; waits before the handoff are cut to {Timeout} until it holds fewer than {Until}")]
    public static partial void PressureStarted(this ILogger logger, int held, int cap, TimeSpan timeout, int until);

    [LoggerMessage(29, LogLevel.Information, "front connection pressure over: {Held} of {Cap} connections held, after {Duration}")]
    public static partial void PressureEnded(this ILogger logger, int held, int cap, TimeSpan duration);

    [LoggerMessage(30, LogLevel.Information, "worker pid={Pid} pool={Pool} mode={Mode} certificates={Certificates} serving")]
    public static partial void WorkerServing(this ILogger logger, int pid, string pool, string mode, int certificates);

    [LoggerMessage(33, LogLevel.Information, "worker pid={Pid}: handoff records in {RecordLayer}")]
    public static partial void WorkerRecordLayer(this ILogger logger, int pid, string recordLayer);

    [LoggerMessage(34, LogLevel.Warning, "worker pid={Pid}: refusing connections, the front gives them to other workers until this one has room: {Reason}")]
    public static partial void WorkerRefusing(this ILogger logger, int pid, string reason);

    [LoggerMessage(35, LogLevel.Information, "worker pid={Pid}: taking connections again: {Budget}")]
    public static partial void WorkerResumed(this ILogger logger, int pid, string budget);

    [LoggerMessage(36, LogLevel.Error, "worker pid={Pid}: channel failed, taking no more connections: {Reason}")]
    public static partial void WorkerChannelBroken(this ILogger logger, int pid, string reason);

    // 100-119: control socket and reload (docs/operating.md).
    [LoggerMessage(100, LogLevel.Information, "reload ({Trigger}): started")]
    public static partial void ReloadStarted(this ILogger logger, string trigger);

    [LoggerMessage(101, LogLevel.Information, "reload ({Trigger}): generation {Generation} serving new connections after {Milliseconds} ms; {Summary}")]
    public static partial void ReloadDone(this ILogger logger, string trigger, int generation, long milliseconds, string summary);

    [LoggerMessage(102, LogLevel.Error, "reload ({Trigger}) refused, nothing changed: {Problem}")]
    public static partial void ReloadRefused(this ILogger logger, string trigger, string problem);

    [LoggerMessage(103, LogLevel.Warning, "reload ({Trigger}): {Note}")]
    public static partial void ReloadNote(this ILogger logger, string trigger, string note);

    [LoggerMessage(104, LogLevel.Information, "control socket listening on {Path}")]
    public static partial void ControlListening(this ILogger logger, string path);

    [LoggerMessage(105, LogLevel.Warning, "control socket off: {Reason}; `baton status` and `baton reload` need it (set Baton:Control:Socket)")]
    public static partial void ControlUnavailable(this ILogger logger, string reason);

    [LoggerMessage(106, LogLevel.Warning, "control socket: refused pid={Pid} uid={Uid}: only the front's user ({FrontUid}) and root may use it")]
    public static partial void ControlPeerRefused(this ILogger logger, int pid, uint uid, uint frontUid);

    [LoggerMessage(107, LogLevel.Warning, "control socket: request from pid={Pid} refused: {Reason}")]
    public static partial void ControlRequestRefused(this ILogger logger, int pid, string reason);

    [LoggerMessage(108, LogLevel.Information, "worker pid={Pid}: serving {Certificates} new certificate(s) to the connections it receives from now on")]
    public static partial void WorkerCertificatesReplaced(this ILogger logger, int pid, int certificates);

    [LoggerMessage(109, LogLevel.Warning, "reload: worker pool={Pool} pid={Pid} could not be sent the new {What}; stopping it so that it restarts with them")]
    public static partial void WorkerUpdateNotDelivered(this ILogger logger, string pool, int pid, string what);

    [LoggerMessage(110, LogLevel.Information, "listener {Listener} on {Address} closed by a reload")]
    public static partial void ListenerClosed(this ILogger logger, string listener, string address);

    [LoggerMessage(111, LogLevel.Information, "pool {Pool} removed by a reload: its workers drain once the front's connections for it are handed off")]
    public static partial void PoolRemoved(this ILogger logger, string pool);

    [LoggerMessage(112, LogLevel.Information, "certificate file changed ({Path}): reloading")]
    public static partial void CertificateFileChanged(this ILogger logger, string path);
}
