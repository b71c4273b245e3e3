using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Configuration = configuration });
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        AddConsoleLogging(builder.Logging);
        // The host logs a failed start with its stack trace; the catch below says it in one line instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(certificates);
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

    private static int InvalidConfiguration(IReadOnlyList<string> problems)
    {
        foreach (string problem in problems)
            Console.Error.WriteLine($"baton: invalid configuration: {problem}");
        return 2;
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
