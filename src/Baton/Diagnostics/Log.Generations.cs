using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>Log lines of rolling deploys: worker generations (event ids 220–229).</summary>
internal static partial class Log
{
    [LoggerMessage(220, LogLevel.Information, "deploy: pool={Pool} starting generation {Generation} ({Trigger})")]
    public static partial void DeployStarting(this ILogger logger, string pool, int generation, string trigger);

    [LoggerMessage(221, LogLevel.Error, "deploy failed: pool={Pool} generation {Generation}: {Reason}; generation {Serving} serves on")]
    public static partial void DeployFailed(this ILogger logger, string pool, int generation, string reason, int serving);

    [LoggerMessage(222, LogLevel.Information, "deploy: pool={Pool} generation {Generation} serves (pids {Pids}); generation {Previous} drains")]
    public static partial void DeployServing(this ILogger logger, string pool, int generation, string pids, int previous);

    [LoggerMessage(223, LogLevel.Information, "deploy: pool={Pool} generation {Generation} has drained and exited")]
    public static partial void GenerationDrained(this ILogger logger, string pool, int generation);
}
