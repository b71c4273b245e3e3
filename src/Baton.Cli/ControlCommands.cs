using System.CommandLine;
using Baton.Hosting;

namespace Baton.Cli;

/// <summary>`baton status`, `baton reload`, `baton upgrade`, `baton restart` (through the front's control socket) and `baton check` (no front needed).</summary>
internal static class ControlCommands
{
    public static Command Status() => OverSocket("status", "Show what the running front serves: listeners, pools and workers, connections, certificates.");

    public static Command Reload() => OverSocket("reload",
        "Reload the running front: re-read the configuration, certificates and ticket keys; new connections use them, "
        + "connections in flight finish on what they started with. An invalid configuration changes nothing.");

    public static Command Upgrade() => OverSocket("upgrade",
        "Upgrade the running front to the binary now at its path (as SIGUSR2): the new front takes the listening sockets and "
        + "starts its workers; once it is ready the old one stops accepting and drains. If it does not become ready, the old front serves on.");

    public static Command Restart()
    {
        var pool = new Argument<string>("pool") { Description = "The pool whose workers are replaced" };
        return OverSocket("restart",
            "Deploy a pool's workers again (a new version at the same path): a new generation starts; once it is ready it takes new "
            + "connections and the old one drains, its kept-alive HTTP/1.1 connections moving to the new workers at their next "
            + "request. If the new generation does not become ready, the old one serves on.",
            pool);
    }

    private static Command OverSocket(string name, string description, Argument<string>? pool = null)
    {
        var control = new Option<FileInfo?>("--control") { Description = "The front's control socket (default: Baton:Control:Socket of --config, else $RUNTIME_DIRECTORY/baton.sock or /run/baton/baton.sock)" };
        var config = new Option<FileInfo?>("--config") { Description = "The front's JSON configuration file, to find its control socket" };
        var json = new Option<bool>("--json") { Description = "Print the front's reply as JSON" };
        var command = new Command(name, description) { control, config, json };
        if (pool is not null)
            command.Arguments.Add(pool);
        command.SetAction((result, cancellationToken) => FrontControl.RunAsync(
            name, pool is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["pool"] = result.GetValue(pool)! },
            result.GetValue(control)?.FullName, result.GetValue(config)?.FullName, result.GetValue(json),
            Console.Out, Console.Error, cancellationToken));
        return command;
    }

    public static Command Check()
    {
        var config = new Option<FileInfo>("--config") { Description = "The JSON configuration file to check", Required = true };
        var command = new Command("check", "Check a configuration as a start would (keys, values, every certificate and key) without starting; exit 0 or 1.")
        {
            config,
        };
        command.SetAction(result => FrontControl.Check(result.GetValue(config)!.FullName, Console.Out, Console.Error));
        return command;
    }
}
