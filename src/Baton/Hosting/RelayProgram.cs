using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Baton.Diagnostics;
using Baton.Relay;
using Baton.Worker;

namespace Baton.Hosting;

/// <summary>
/// <c>baton relay</c>: the built-in worker of a proxy pool, started by the front like every worker (before any
/// connection; the pool's <c>Command</c> may name another executable that does the same).
/// </summary>
public static class RelayProgram
{
    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!WorkerListener.IsStartedByFront)
        {
            Console.Error.WriteLine("baton relay: this command is started by `baton serve` for a proxy pool, which passes it its channel");
            return 2;
        }
        using ILoggerFactory loggers = LoggerFactory.Create(logging =>
        {
            FrontProgram.AddConsoleLogging(logging);
            // The front's Logging__LogLevel__* variables reach the workers (WorkerEnvironment); the default level too.
            if (Enum.TryParse(Environment.GetEnvironmentVariable("Logging__LogLevel__Default"), ignoreCase: true, out LogLevel level))
                logging.SetMinimumLevel(level);
        });
        ILogger logger = loggers.CreateLogger("Baton.Relay");
        // SIGTERM is how the front drains a pool: stop accepting and let the relayed connections run to their end (the
        // front kills the worker at Limits:ShutdownTimeout). Unhandled, the runtime would exit at once and cut them.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopping.Cancel();
        }
        try
        {
            await using var relay = new RelayWorker(WorkerListener.FromEnvironment(logger, inlineContinuations: true), logger);
            await relay.RunAsync(stopping.Token).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or Baton.Channel.ChannelProtocolException)
        {
            Console.Error.WriteLine($"baton relay: {ex.Message}");
            return 1;
        }
    }
}
