using Baton.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Baton.Tests.Hosting;

/// <summary>The console log of the front and the built-in workers drops entries rather than block when stdout lags.</summary>
public sealed class ConsoleLoggingTests
{
    [Fact]
    public void AFullQueueDropsEntriesByDefault() =>
        Assert.Equal(ConsoleLoggerQueueFullMode.DropWrite, Options().QueueFullMode);

    [Fact]
    public void TheConfigurationCanAskToWaitInstead() =>
        Assert.Equal(ConsoleLoggerQueueFullMode.Wait, Options(("Logging:Console:QueueFullMode", "Wait")).QueueFullMode);

    private static ConsoleLoggerOptions Options(params (string Key, string Value)[] settings)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        FrontProgram.AddConsoleLogging(builder.Logging);
        using IHost host = builder.Build();
        return host.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
    }
}
