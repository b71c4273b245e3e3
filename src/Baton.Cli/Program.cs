using System.CommandLine;

var root = new RootCommand("Baton: a TLS front that hands live connections to pre-spawned workers.");
return root.Parse(args).Invoke();
