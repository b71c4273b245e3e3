using Baton.Configuration;
using Baton.Hosting;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Observability;

/// <summary>Baton:Metrics and Baton:AccessLog are checked at start, each problem once with its key.</summary>
public sealed class ObservabilityValidationTests
{
    private static IReadOnlyList<string> Problems(object baton)
    {
        using TempFile config = TempFile.Config(baton);
        return FrontConfiguration.Load(config.Path, new FrontOverrides()).Problems;
    }

    [Fact]
    public void BadMetricsAndAccessLogSettingsAreReportedWithTheirKeys()
    {
        IReadOnlyList<string> problems = Problems(new
        {
            Metrics = new { Prometheus = new { Address = "localhost:9464", Path = "metrics" } },
            AccessLog = new { Enabled = true, Format = "{nope}" },
        });

        Assert.Equal(
        [
            "Baton:Metrics:Prometheus:Address: 'localhost:9464' is not an address:port such as 127.0.0.1:9464",
            "Baton:Metrics:Prometheus:Path: 'metrics' is not a path such as /metrics",
            $"Baton:AccessLog:Format: names an unknown field '{{nope}}'; the fields are {string.Join(", ", AccessLogFormat.FieldNames)}",
        ], problems);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/metrics/")]
    [InlineData("/me trics")]
    [InlineData("/metrics?x")]
    public void AnEndpointPathThatHttpListenerCannotServeIsRefused(string path)
    {
        IReadOnlyList<string> problems = Problems(new { Metrics = new { Prometheus = new { Address = "127.0.0.1:9464", Path = path } } });

        Assert.Equal([$"Baton:Metrics:Prometheus:Path: '{path}' is not a path such as /metrics"], problems);
    }

    [Theory]
    [InlineData("[::1]:9464")]
    [InlineData("[::]:9464")]
    public void AnIPv6EndpointAddressIsRefusedWithTheReason(string address)
    {
        IReadOnlyList<string> problems = Problems(new { Metrics = new { Prometheus = new { Address = address } } });

        Assert.Equal([$"Baton:Metrics:Prometheus:Address: '{address}': the endpoint (.NET's HttpListener on Linux) takes an IPv4 address, 0.0.0.0 for every one"], problems);
    }

    [Fact]
    public void AMisspelledMetricsKeyIsCaught()
    {
        IReadOnlyList<string> problems = Problems(new { Metrics = new { Prometheus = new { Adress = "127.0.0.1:9464" } } });

        Assert.Equal(["Baton:Metrics:Prometheus:Adress: unknown key; did you mean 'Address'?"], problems);
    }
}
