using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Baton.Configuration;

namespace Baton.Hosting;

/// <summary>
/// Reads the front's configuration (the --config file, then Baton__ environment variables, then flags) into
/// <see cref="BatonOptions"/>, or says everything that is wrong with it, one line per problem, each with its key.
/// </summary>
internal static class FrontConfiguration
{
    /// <summary>The sections a configuration file may hold.</summary>
    private static readonly string[] FileSections = [BatonOptions.SectionName, "Logging"];

    /// <summary>
    /// The configuration and the options bound from it; null options with the problems when it is unusable.
    /// Shape problems (unknown keys, values that do not parse) are reported before any check of what the values
    /// mean, because a half-bound configuration only leads to misleading follow-up errors.
    /// </summary>
    public static (ConfigurationManager Configuration, BatonOptions? Options, IReadOnlyList<string> Problems) Load(
        string? configFile, FrontOverrides overrides)
    {
        var configuration = new ConfigurationManager();
        if (configFile is not null && ReadFile(configuration, configFile) is string unreadable)
            return (configuration, null, [unreadable]);
        configuration.AddEnvironmentVariables();

        var problems = new List<string>(FileSectionProblems(configuration, configFile));
        IConfigurationSection section = configuration.GetSection(BatonOptions.SectionName);
        problems.AddRange(ConfigurationChecker.Check(section, typeof(BatonOptions)));
        if (problems.Count > 0)
            return (configuration, null, problems);

        BatonOptions options;
        try
        {
            options = section.Get<BatonOptions>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new BatonOptions();
        }
        catch (InvalidOperationException ex)
        {
            // Only if the checker missed something: still one line, never a stack trace.
            return (configuration, null, [ex.Message]);
        }
        problems.AddRange(Apply(options, overrides));
        BatonOptionsValidator.ApplyDefaults(options);
        problems.AddRange(BatonOptionsValidator.Validate(options));
        return (configuration, problems.Count == 0 ? options : null, problems);
    }

    /// <summary>Adds the JSON file; on failure, one line with the file and, for a syntax error, the parser's position.</summary>
    private static string? ReadFile(ConfigurationManager configuration, string file)
    {
        try
        {
            configuration.AddJsonFile(file, optional: false, reloadOnChange: false);
            return null;
        }
        catch (FileNotFoundException)
        {
            return $"{file}: no such file";
        }
        catch (InvalidDataException ex) when (ex.InnerException?.InnerException is JsonException json)
        {
            // Both positions are zero-based; editors count from 1. The parser's message repeats them at its end.
            string message = json.Message;
            int position = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            return $"{file}: line {json.LineNumber + 1}, column {json.BytePositionInLine + 1}: {(position > 0 ? message[..position] : message)}";
        }
        catch (InvalidDataException ex)
        {
            // Not a syntax error: a duplicate key, a top-level array, an unreadable file.
            return $"{file}: {ex.InnerException?.Message ?? ex.Message}";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{file}: {ex.Message}";
        }
    }

    /// <summary>A file whose settings are not under "Baton" would otherwise be read as no configuration at all.</summary>
    private static IEnumerable<string> FileSectionProblems(IConfigurationRoot configuration, string? file)
    {
        IEnumerable<string> keys = configuration.Providers.OfType<JsonConfigurationProvider>()
            .SelectMany(provider => provider.GetChildKeys([], null))
            .Distinct(StringComparer.OrdinalIgnoreCase);
        foreach (string key in keys.Where(key => !FileSections.Contains(key, StringComparer.OrdinalIgnoreCase)))
            yield return $"{file}: {key}: unknown top-level key; the front's settings go under \"{BatonOptions.SectionName}\" (and logging under \"Logging\")";
    }

    /// <summary>
    /// Flags replace what the configuration says: --listen replaces the listeners' addresses in order (names and
    /// other settings stay, so routes that name a listener keep matching; extra addresses become new listeners),
    /// --cert/--key the certificates, and --workers/--mode apply to every pool (or to the default pool when none
    /// is configured). Returns what the flags cannot do.
    /// </summary>
    internal static IReadOnlyList<string> Apply(BatonOptions options, FrontOverrides overrides)
    {
        var problems = new List<string>();
        if (overrides.Listen.Count > 0)
            ApplyListen(options, overrides.Listen, problems);
        if (overrides.CertificateFile is not null && overrides.KeyFile is not null)
            options.Certificates = [new CertificateOptions { CertificateFile = overrides.CertificateFile, KeyFile = overrides.KeyFile }];
        if (options.Pools.Count == 0 && (overrides.Workers is not null || overrides.Mode is not null))
            options.Pools[options.DefaultPool] = new PoolOptions();
        foreach (PoolOptions pool in options.Pools.Values)
        {
            if (overrides.Workers is int workers) pool.Workers = workers;
            if (overrides.Mode is HandoffMode mode) pool.Mode = mode;
        }
        return problems;
    }

    private static void ApplyListen(BatonOptions options, IReadOnlyList<string> addresses, List<string> problems)
    {
        List<ListenerOptions> configured = options.Listeners;
        string[] dropped = configured.Skip(addresses.Count).Select(l => l.Name).ToArray();
        int[] orphans = Enumerable.Range(0, options.Routes.Count).Where(i => dropped.Contains(options.Routes[i].Listener)).ToArray();
        if (orphans.Length > 0)
        {
            // The listeners stay as configured, so the rest of the configuration is still checked against them.
            problems.Add($"--listen: {addresses.Count} address(es) for {configured.Count} configured listeners ({string.Join(", ", configured.Select(l => l.Name))}) "
                + $"would remove {string.Join(", ", dropped)}, which {string.Join(", ", orphans.Select(i => $"{BatonOptions.SectionName}:Routes:{i}:Listener"))} names; "
                + "give one --listen per configured listener, in order");
            return;
        }
        if (configured.Count > addresses.Count)
            configured.RemoveRange(addresses.Count, configured.Count - addresses.Count);
        for (int i = 0; i < addresses.Count; i++)
        {
            if (i < configured.Count) configured[i].Address = addresses[i];
            else configured.Add(new ListenerOptions { Address = addresses[i] });
        }
    }
}
