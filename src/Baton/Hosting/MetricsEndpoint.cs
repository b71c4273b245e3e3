using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Baton.Configuration;
using Baton.Diagnostics;

namespace Baton.Hosting;

/// <summary>
/// The Prometheus scrape endpoint (Baton:Metrics:Prometheus): OpenTelemetry's exporter publishing the "Baton" meter
/// over its own HttpListener, started and stopped with the host. Off unless an address is configured.
/// </summary>
internal static class MetricsEndpoint
{
    public static void Add(IServiceCollection services, PrometheusOptions options)
    {
        if (options.Address is null)
            return;
        IPEndPoint endPoint = IPEndPoint.Parse(options.Address);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("baton"))
            .WithMetrics(metrics => metrics
            .AddMeter(BatonMetrics.MeterName)
            .AddPrometheusHttpListener(listener =>
            {
                listener.Host = ListenerHost(endPoint.Address);
                listener.Port = endPoint.Port;
                listener.ScrapeEndpointPath = options.Path;
            }));
    }

    /// <summary>
    /// Opens the endpoint (building the meter provider starts its listener) before the host starts anything else, so an
    /// address in use ends the start with one line naming the key rather than the exporter's own words.
    /// </summary>
    public static void Open(IServiceProvider services, PrometheusOptions options)
    {
        if (options.Address is null)
            return;
        try
        {
            services.GetRequiredService<MeterProvider>();
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException(
                $"cannot serve metrics on {options.Address} ({BatonOptions.SectionName}:Metrics:Prometheus:Address): {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    /// <summary>
    /// HttpListener's spelling of the address: "*" for every address (it binds 0.0.0.0 but then serves only requests whose
    /// Host is literally "0.0.0.0"), brackets around IPv6.
    /// </summary>
    private static string ListenerHost(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "*"
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]"
        : address.ToString();
}
