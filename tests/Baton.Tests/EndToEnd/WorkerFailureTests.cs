using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Workers that die: restarts, isolation of other workers' connections, and re-dispatch before the Ack.</summary>
public sealed class WorkerFailureTests
{
    [Fact]
    public async Task AKilledWorkerIsRestartedAndOtherWorkersKeepTheirConnections()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        await using TlsConnection connection = await TlsConnection.OpenAsync(front.Port);
        int survivor = Clients.WorkerPid(await connection.GetAsync("/first"));
        int victim = front.InitialWorkers["default"].Single(pid => pid != survivor);

        Interop.Libc.Kill(victim, Interop.Libc.SIGKILL);
        await front.WaitForOutputAsync($"worker exited: pool=default pid={victim}");
        await Wait.UntilAsync(() => front.CurrentWorkers().Count == 2 && !front.CurrentWorkers().Contains(victim), "a new worker replaces the killed one");

        Assert.Equal(survivor, Clients.WorkerPid(await connection.GetAsync("/second")));
        for (int i = 0; i < 10; i++)
            Assert.NotEqual(victim, Clients.WorkerPid(await Clients.CurlAsync(front.Port)));
    }

    [Fact]
    public async Task AConnectionWhoseWorkerDiesBeforeAcknowledgingIsServedByAnother()
    {
        await using BatonFront front = await BatonFront.StartAsync(
            environment: new Dictionary<string, string> { ["BATON_TEST_WORKER_DIES_ON_FIRST_CONNECTION"] = "1" });
        int[] initial = front.InitialWorkers["default"];

        string page = await Clients.CurlAsync(front.Port);

        int dead = initial.Single(pid => !ProcFs.IsAlive(pid));
        Assert.NotEqual(dead, Clients.WorkerPid(page));
        await front.WaitForOutputAsync($"worker exited: pool=default pid={dead}");
    }
}
