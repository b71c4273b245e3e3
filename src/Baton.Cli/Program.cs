using System.CommandLine;
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
return await root.Parse(args).InvokeAsync();
