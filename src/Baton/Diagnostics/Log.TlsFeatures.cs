using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>The log lines of client certificates, OCSP stapling and the shared ticket-key ring (event ids 160–179).</summary>
internal static partial class Log
{
    [LoggerMessage(160, LogLevel.Information, "ticket keys: the front's ring changed ({Keys} keys); sending it to {Workers} passthrough workers")]
    public static partial void TicketKeysChanged(this ILogger logger, int keys, int workers);

    [LoggerMessage(164, LogLevel.Error, "ticket keys: could not send the front's ring to its workers, retrying at the next tick: {Reason}")]
    public static partial void TicketKeysNotSent(this ILogger logger, string reason);

    [LoggerMessage(165, LogLevel.Information, "worker pid={Pid}: ticket keys replaced by the front's ring ({Keys} keys)")]
    public static partial void WorkerTicketKeysReplaced(this ILogger logger, int pid, int keys);

    [LoggerMessage(161, LogLevel.Warning, "OCSP response for {Certificate} not stapled: {Reason}")]
    public static partial void OcspNotStapled(this ILogger logger, string certificate, string reason);

    [LoggerMessage(162, LogLevel.Information, "OCSP response for {Certificate} stapled from {File}: good, valid until {NextUpdate}")]
    public static partial void OcspStapled(this ILogger logger, string certificate, string file, string nextUpdate);
}
