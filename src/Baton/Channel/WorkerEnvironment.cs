namespace Baton.Channel;

/// <summary>
/// The environment a front gives each worker it spawns: with the channel itself, the whole contract between
/// the two processes before the first message.
/// </summary>
internal static class WorkerEnvironment
{
    /// <summary>The channel's descriptor number in the worker (always 3: placed there by a dup2 file action).</summary>
    public const string ChannelFdVariable = "BATON_CHANNEL_FD";

    /// <summary>The pool the worker belongs to, for its logs.</summary>
    public const string PoolVariable = "BATON_POOL";

    /// <summary>The user the worker switches to before it reads its channel; absent keeps the front's user.</summary>
    public const string UserVariable = "BATON_WORKER_USER";
}
