using Microsoft.Extensions.Logging.Abstractions;
using Baton.Channel;
using Baton.Worker;

namespace Baton.TestWorker;

/// <summary>
/// A real worker app whose thread pool deadlocks: the production <see cref="WorkerListener"/> takes the settings and
/// reports Ready, then every thread-pool thread blocks forever, as a sync-over-async deadlock leaves an app. Nothing
/// queued to the pool runs again; the listener's own channel thread goes on receiving (and acknowledging).
/// </summary>
internal static class StarvingWorker
{
    public static int Run(ChannelSocket channel)
    {
        var listener = new WorkerListener(channel, NullLogger.Instance);
        listener.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        int front = Interop.Libc.GetParentPid();
        BlockThePool();
        // The listener's end of the channel would finish through the blocked pool: the front's exit (this process is
        // re-parented) is what ends a starved worker that nobody killed.
        while (Interop.Libc.GetParentPid() == front)
            Thread.Sleep(200);
        return 0;
    }

    private static void BlockThePool()
    {
        // Capped, so that the pool cannot inject threads past the blocked ones; more blockers than threads, so that
        // every thread takes one and the rest stay queued ahead of anything queued later.
        ThreadPool.GetMaxThreads(out _, out int completionPorts);
        if (!ThreadPool.SetMaxThreads(Environment.ProcessorCount, completionPorts))
            throw new InvalidOperationException("could not cap the thread pool");
        var never = new ManualResetEventSlim();
        int blockers = 4 * Math.Max(ThreadPool.ThreadCount, Environment.ProcessorCount) + 16;
        for (int i = 0; i < blockers; i++)
            ThreadPool.UnsafeQueueUserWorkItem(static gate => gate.Wait(), never, preferLocal: false);
    }
}
