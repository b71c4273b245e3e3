using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using System.Runtime.InteropServices;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.IO;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>Command-line flags that override the configuration (see <see cref="FrontConfiguration.Apply"/>).</summary>
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
        // First: the runtime's own opens (assemblies) must not meet a soft limit below what the system allows.
        DescriptorLimit.RaiseSoftToHard();
        (ConfigurationManager configuration, BatonOptions? options, IReadOnlyList<string> problems) = FrontConfiguration.Load(configFile, overrides);
        if (options is null)
            return InvalidConfiguration(problems);
        // Every certificate and key is read and checked here, before a worker exists to be handed a broken one.
        using CertificateStore? certificates = CertificateStore.Load(
            options.Certificates, DateTimeOffset.UtcNow, out problems, ClientCertificatePolicies.From(options));
        if (certificates is null)
            return InvalidConfiguration(problems);
        // Before anything is spawned: these descriptors and variables are for this process only.
        UpgradeChannel? upgrade = UpgradeChannel.TakeFromEnvironment(out string? problem);
        InheritedListeners? inherited = problem is null ? InheritedListeners.FromEnvironment(options.Listeners, upgrade is not null, out problem) : null;
        if (inherited is null)
        {
            Console.Error.WriteLine($"baton: {problem}");
            return 1;
        }

        WorkerConsoleSettings.ShareWithWorkers(configuration);
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Configuration = configuration });
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        AddConsoleLogging(builder.Logging);
        // The host logs a failed start with its stack trace; the catch below says it in one line instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(certificates);
        builder.Services.AddSingleton<BatonMetrics>();
        builder.Services.AddSingleton(new FrontSource(configFile, overrides));
        builder.Services.AddSingleton(inherited);
        builder.Services.AddSingleton(new StartedBy(upgrade));
        builder.Services.AddSingleton<ServiceNotifier>();
        MetricsEndpoint.Add(builder.Services, options.Metrics.Prometheus);
        builder.Services.AddSingleton<FrontService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<FrontService>());
        builder.Services.AddHostedService<ServiceLifecycle>();
        builder.Services.AddSingleton<FrontUpgrade>();
        // After an upgrade the front first hands off what it holds (up to ShutdownTimeout), then drains its workers (as long again).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = 2 * options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5));
        using IHost host = builder.Build();
        ILogger frontLogger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Baton.Front");
        FrontService front = host.Services.GetRequiredService<FrontService>();
        FrontUpgrade frontUpgrade = host.Services.GetRequiredService<FrontUpgrade>();
        front.UseUpgrade(frontUpgrade);
        using PosixSignalRegistration hangup = ReloadOnHangup(front);
        using PosixSignalRegistration upgradeSignal = UpgradeOnSignal(frontUpgrade, frontLogger);
        try
        {
            MetricsEndpoint.Open(host.Services, options.Metrics.Prometheus);
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

    private static int InvalidConfiguration(IReadOnlyList<string> problems)
    {
        foreach (string problem in problems)
            Console.Error.WriteLine($"baton: invalid configuration: {problem}");
        return 2;
    }

    /// <summary>SIGHUP reloads, as nginx and HAProxy do (its default action would kill the front); the outcome is logged.</summary>
    private static PosixSignalRegistration ReloadOnHangup(FrontService front) =>
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            front.RequestReload("SIGHUP");
        });

    /// <summary>SIGUSR2 (nginx's signal for it) starts a binary upgrade; its default action would kill the front.</summary>
    private static PosixSignalRegistration UpgradeOnSignal(FrontUpgrade upgrade, ILogger logger) =>
        PosixSignalRegistration.Create((PosixSignal)Interop.Libc.SIGUSR2, context =>
        {
            context.Cancel = true;
            logger.UpgradeRequested();
            _ = upgrade.StartAsync();
        });

    /// <summary>
    /// The console log of the front and the built-in worker: one line per entry, with Logging:Console (FormatterName
    /// simple, json or systemd, FormatterOptions) read from the configuration the caller added to the builder. The
    /// defaults here come first, so configured values override them.
    /// </summary>
    public static void AddConsoleLogging(ILoggingBuilder logging)
    {
        // Without a FormatterName the console logger ignores the formatter options and uses its obsolete own ones.
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.FormatterName = ConsoleFormatterNames.Simple);
        logging.Services.Configure<SimpleConsoleFormatterOptions>(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(json =>
        {
            json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            json.UseUtcTimestamp = true;
        });
        // Event loops and channel threads (the front's, the relay's) log on their way and must never block: when stdout
        // cannot keep up (2,500 entries queued), entries are dropped and the console logger says how many, rather than
        // stalling connections or the Acks that a stalled channel thread would leave unread until the worker is killed.
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite);
        WholeEntryConsole.Install();
        logging.AddConsole();
        logging.SetMinimumLevel(LogLevel.Information);
    }
}
