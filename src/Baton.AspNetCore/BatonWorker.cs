using Baton.Worker;

namespace Baton.AspNetCore;

/// <summary>What an app can ask about its place in Baton.</summary>
public static class BatonWorker
{
    /// <summary>True when a Baton front started this process as one of a pool's workers (it passed a channel).</summary>
    public static bool IsStartedByFront => WorkerListener.IsStartedByFront;
}
