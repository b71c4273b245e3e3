using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Baton.Configuration;
using Baton.Hosting;

namespace Baton.Cli;

/// <summary><c>baton serve</c>: the front. With no arguments it runs the embedded default.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen")
        {
            Description = $"Address:port to accept TLS on, repeatable (default {FrontProgram.DefaultAddress}; port 0 picks a free port)",
            AllowMultipleArgumentsPerToken = false,
        };
        var workers = new Option<int?>("--workers") { Description = "Workers per pool (default 2)", CustomParser = ParseWorkers };
        var cert = new Option<FileInfo?>("--cert") { Description = "PEM certificate chain (default: a self-signed localhost certificate made at start)" };
        var key = new Option<FileInfo?>("--key") { Description = "PEM private key for --cert" };
        var mode = new Option<HandoffMode?>("--mode")
        {
            Description = "passthrough: workers run the TLS handshake; handoff: the front does and hands the session over; "
                + "proxy: as handoff, to relays that connect to each pool's Backend (set in --config)",
            CustomParser = ParseMode,
        };
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (section \"Baton\"); flags override it" };

        var command = new Command("serve", "Run the front: accept TLS connections and hand them to pre-spawned workers.")
        {
            listen, workers, cert, key, mode, config,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(cert) is null) != (result.GetValue(key) is null))
                result.AddError("--cert and --key go together");
        });
        command.SetAction((result, cancellationToken) =>
        {
            var overrides = new FrontOverrides
            {
                Listen = result.GetValue(listen) ?? [],
                Workers = result.GetValue(workers),
                CertificateFile = result.GetValue(cert)?.FullName,
                KeyFile = result.GetValue(key)?.FullName,
                Mode = result.GetValue(mode),
            };
            return FrontProgram.RunAsync(result.GetValue(config)?.FullName, overrides, cancellationToken);
        });
        return command;
    }

    // The default parsers name .NET types in their errors ("as expected type 'System.Nullable`1[System.Int32]'").
    private static int? ParseWorkers(ArgumentResult result)
    {
        string value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int workers))
            return workers;
        result.AddError($"--workers: '{value}' is not a whole number");
        return null;
    }

    private static HandoffMode? ParseMode(ArgumentResult result)
    {
        string value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        // Names only, as in the configuration: Enum.Parse would also take numbers.
        if (Enum.GetNames<HandoffMode>().FirstOrDefault(name => name.Equals(value, StringComparison.OrdinalIgnoreCase)) is string mode)
            return Enum.Parse<HandoffMode>(mode);
        result.AddError($"--mode: '{value}' is not one of {string.Join(", ", Enum.GetNames<HandoffMode>().Select(n => n.ToLowerInvariant()))}");
        return null;
    }
}
