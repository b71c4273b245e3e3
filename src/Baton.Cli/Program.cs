using System.CommandLine;
using System.CommandLine.Parsing;
using Baton.Cli;
using Baton.Tls;

if (OpenSslLibrary.Probe() is string missing)
{
    Console.Error.WriteLine(missing);
    return 1;
}

var root = new RootCommand("Baton: a TLS front that hands live connections to pre-spawned worker processes.");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
root.Subcommands.Add(RelayCommand.Create());
root.Subcommands.Add(ControlCommands.Status());
root.Subcommands.Add(ControlCommands.Reload());
root.Subcommands.Add(ControlCommands.Upgrade());
root.Subcommands.Add(ControlCommands.Restart());
root.Subcommands.Add(ControlCommands.Check());
ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // One line per mistake and the exit code of every configuration problem, rather than the whole help text.
    foreach (ParseError error in parsed.Errors)
        Console.Error.WriteLine($"baton: {error.Message}");
    Console.Error.WriteLine("baton: see 'baton serve --help'");
    return 2;
}
return await parsed.InvokeAsync();
