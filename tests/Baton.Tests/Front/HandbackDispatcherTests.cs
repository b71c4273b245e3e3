using System.IO.Pipes;
using Baton.Tests.Infrastructure;
using Baton.Front;
using Baton.Supervisor;
using Baton.Tests.Supervisor;

namespace Baton.Tests.Front;

/// <summary>
/// The front's handback dispatch with a real worker process on the other end of the channel: a handback whose routing
/// throws (a bug) costs that connection and nothing else: the descriptor is closed at once, not left to a finalizer,
/// and the failure is logged.
/// </summary>
public sealed class HandbackDispatcherTests
{
    [Fact]
    public async Task AHandbackWhoseRoutingThrowsIsClosedAtOnce()
    {
        await using TestPool pool = TestPool.Start(1, ["hold"]);
        await pool.WaitReadyAsync();
        var logger = new CollectingLogger();
        using var poller = new SocketPoller();
        using var metrics = new MetricTotals();
        // A route table that names a pool the dispatcher was not given: the bug this guards against throws mid-dispatch.
        var options = new BatonOptions { DefaultPool = "missing" };
        using var dispatcher = new HandbackDispatcher(
            options, new Dictionary<string, WorkerPool> { [TestPool.Name] = pool.Pool }, poller, metrics.Metrics, logger);

        // The arrival gets the only write end of a pipe: the reader sees the end of the stream once that copy is closed.
        using var pipe = new AnonymousPipeServerStream(PipeDirection.In);
        var writeEnd = SafeFdHandle.Duplicate(pipe.ClientSafePipeHandle);
        pipe.DisposeLocalCopyOfClientHandle();
        dispatcher.Receive(new HandbackArrival(pool.Launched[0].Worker, 1, writeEnd, HandbackBody()));

        using var deadline = new CancellationTokenSource(Wait.DefaultTimeout);
        int read = await pipe.ReadAsync(new byte[1], deadline.Token); // cancellable: a leak fails the test, it does not hang it
        Assert.Equal(0, read);
        await Wait.UntilAsync(() => logger.Lines.Any(line => line.Message.Contains("KeyNotFoundException")), "the failure is logged with its cause");
    }

    private static byte[] HandbackBody()
    {
        var facts = new ConnectionFacts
        {
            Mode = HandoffMode.Handoff,
            Pool = TestPool.Name,
            Listener = "main",
            TlsStateLength = 16,
            InitialData = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(),
        };
        byte[] body = new byte[4096];
        return body.AsSpan(0, facts.WriteTo(body, out _)).ToArray();
    }
}
