using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Runtime.InteropServices;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Hosting;

/// <summary>Command-line flags that override the configuration (see <see cref="FrontProgram.Apply"/>).</summary>
public sealed class FrontOverrides
{
    public IReadOnlyList<string> Listen { get; init; } = [];
    public int? Workers { get; init; }
    public string? CertificateFile { get; init; }
    public string? KeyFile { get; init; }
    public HandoffMode? Mode { get; init; }
}

/// <summary>Runs the front: configuration, validation, logging, then the <see cref="FrontService"/> until SIGTERM/SIGINT.</summary>
public static class FrontProgram
{
    /// <summary>The listener of the embedded default, when neither the configuration nor --listen names one.</summary>
    public const string DefaultAddress = BatonOptionsValidator.DefaultAddress;

    public static async Task<int> RunAsync(string? configFile, FrontOverrides overrides, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationManager();
        if (configFile is not null)
            configuration.AddJsonFile(configFile, optional: false, reloadOnChange: false);
        configuration.AddEnvironmentVariables();

        BatonOptions options;
        try
        {
            options = configuration.GetSection(BatonOptions.SectionName).Get<BatonOptions>() ?? new BatonOptions();
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"baton: invalid configuration: {ex.Message}");
            return 2;
        }
        Apply(options, overrides);
        BatonOptionsValidator.ApplyDefaults(options);
        IReadOnlyList<string> errors = BatonOptionsValidator.Validate(options);
        if (errors.Count > 0)
        {
            foreach (string error in errors)
                Console.Error.WriteLine($"baton: invalid configuration: {error}");
            return 2;
        }

        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Configuration = configuration });
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        AddConsoleLogging(builder.Logging);
        // The host logs a failed start with its stack trace; the catch below says it in one line instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<BatonMetrics>();
        builder.Services.AddHostedService<FrontService>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5));
        using IHost host = builder.Build();
        using PosixSignalRegistration hangup = IgnoreHangup(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Front"));
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.Net.Sockets.SocketException)
        {
            // Start-up failures (a port in use, workers that never become ready): one line, non-zero exit.
            Console.Error.WriteLine($"baton: {ex.Message}");
            return 1;
        }
        return 0;
    }

    /// <summary>
    /// SIGHUP's default action kills the process, and operators send it out of habit to reload; until reloading
    /// exists the front stays up and says so.
    /// </summary>
    private static PosixSignalRegistration IgnoreHangup(ILogger logger) =>
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            logger.HangupIgnored();
        });

    /// <summary>
    /// Flags replace what the configuration says: --listen replaces the listeners, --cert/--key the
    /// certificates, and --workers/--mode apply to every pool (or to the default pool when none is configured).
    /// </summary>
    internal static void Apply(BatonOptions options, FrontOverrides overrides)
    {
        if (overrides.Listen.Count > 0)
            options.Listeners = overrides.Listen.Select(address => new ListenerOptions { Address = address }).ToList();
        if (overrides.CertificateFile is not null && overrides.KeyFile is not null)
            options.Certificates = [new CertificateOptions { CertificateFile = overrides.CertificateFile, KeyFile = overrides.KeyFile }];
        if (options.Pools.Count == 0 && (overrides.Workers is not null || overrides.Mode is not null))
            options.Pools[options.DefaultPool] = new PoolOptions();
        foreach (PoolOptions pool in options.Pools.Values)
        {
            if (overrides.Workers is int workers) pool.Workers = workers;
            if (overrides.Mode is HandoffMode mode) pool.Mode = mode;
        }
    }

    internal static void AddConsoleLogging(ILoggingBuilder logging)
    {
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        });
        logging.SetMinimumLevel(LogLevel.Information);
    }
}
