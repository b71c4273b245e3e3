using System.CommandLine;

namespace Baton.Cli;

/// <summary><c>baton worker</c>: the built-in worker the front spawns; an ASP.NET Core app serving the demo facts page.</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var command = new Command("worker", "Run a worker (the front starts these; not meant to be run by hand).") { Hidden = true };
        command.SetAction((_, cancellationToken) => DemoApplication.RunAsync(cancellationToken));
        return command;
    }
}
