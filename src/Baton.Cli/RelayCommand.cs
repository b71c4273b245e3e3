using System.CommandLine;
using Baton.Hosting;

namespace Baton.Cli;

/// <summary><c>baton relay</c>: the built-in worker of a proxy pool, which relays plaintext to the pool's backends.</summary>
internal static class RelayCommand
{
    public static Command Create()
    {
        var command = new Command("relay", "Run a proxy pool's relay worker (the front starts these; not meant to be run by hand).") { Hidden = true };
        command.SetAction((_, cancellationToken) => RelayProgram.RunAsync(cancellationToken));
        return command;
    }
}
