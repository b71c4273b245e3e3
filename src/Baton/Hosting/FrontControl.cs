using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Baton.Configuration;
using Baton.Hosting.Control;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>
/// The CLI's commands that talk to a running front (`baton status`, `baton reload`) or check a configuration without
/// one (`baton check`). Each prints its result and returns the exit code: 0 done, 1 failed or refused, 2 unusable arguments.
/// </summary>
public static class FrontControl
{
    /// <summary>How long a command waits for the front; a reload may start new pools' workers (Limits:WorkerStartTimeout).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Sends <paramref name="command"/> to the front whose control socket is <paramref name="controlSocket"/>, else the one
    /// <paramref name="configFile"/> (and Baton__Control__Socket) names, else the default path. With <paramref name="json"/>
    /// the front's reply is printed as it came; otherwise as text. <paramref name="arguments"/> go in the request (`restart`: its pool).
    /// </summary>
    public static async Task<int> RunAsync(
        string command, IReadOnlyDictionary<string, string> arguments, string? controlSocket, string? configFile, bool json,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        string path;
        try
        {
            path = controlSocket ?? SocketFromConfiguration(configFile);
        }
        catch (ControlException ex)
        {
            await error.WriteLineAsync($"baton: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        try
        {
            var request = new JsonObject();
            foreach ((string key, string value) in arguments)
                request[key] = value;
            JsonNode? result = await ControlClient.SendAsync(path, command, DefaultTimeout, cancellationToken, request).ConfigureAwait(false);
            await output.WriteAsync(json ? $"{result?.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}\n" : ControlText.Format(command, result)).ConfigureAwait(false);
            return 0;
        }
        catch (ControlReplyException ex)
        {
            await error.WriteLineAsync($"baton {command}: {ex.Message}").ConfigureAwait(false);
            foreach (string problem in ex.Problems)
                await error.WriteLineAsync($"  {problem}").ConfigureAwait(false);
            return 1;
        }
        catch (ControlException ex)
        {
            await error.WriteLineAsync($"baton {command}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>The front's own reading of Baton:Control:Socket: the file, then the environment; unchecked otherwise, so a file with other mistakes still finds the front.</summary>
    private static string SocketFromConfiguration(string? configFile)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new ControlException($"{configFile}: no such file");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }
        try
        {
            IConfigurationRoot configuration = builder.AddEnvironmentVariables().Build();
            var control = new ControlOptions { Socket = configuration[$"{BatonOptions.SectionName}:Control:Socket"] };
            return control.EffectiveSocketPath;
        }
        catch (InvalidDataException ex)
        {
            throw new ControlException($"{configFile}: {ex.InnerException?.Message ?? ex.Message}");
        }
    }

    /// <summary>
    /// `baton check`: the checks a start makes, without starting — the configuration (shape, then meaning), then every
    /// certificate and key (they parse, match, chain and have not expired). Prints every problem, then the warnings.
    /// </summary>
    public static int Check(string configFile, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        (_, BatonOptions? options, IReadOnlyList<string> problems) = FrontConfiguration.Load(configFile, new FrontOverrides());
        CertificateStore? certificates = null;
        if (options is not null)
            certificates = CertificateStore.Load(options.Certificates, DateTimeOffset.UtcNow, out problems);
        using (certificates)
        {
            foreach (string problem in problems)
                error.WriteLine($"baton: invalid configuration: {problem}");
            if (options is null || certificates is null)
                return 1;
            IEnumerable<string> warnings = BatonOptionsValidator.Warnings(options)
                .Concat(BatonOptionsValidator.WorkerUserWarnings(options, frontIsRoot: Interop.Libc.GetEUid() == 0))
                .Concat(certificates.Warnings);
            foreach (string warning in warnings)
                error.WriteLine($"baton: warning: {warning}");
            output.WriteLine($"baton: {configFile}: configuration OK: {options.Listeners.Count} listener(s), {options.Pools.Count} pool(s), "
                + $"{(options.Certificates.Count == 0 ? "no certificate (a self-signed one is made at start)" : $"{options.Certificates.Count} certificate(s)")}, "
                + $"control socket {options.Control.EffectiveSocketPath}");
            return 0;
        }
    }
}
