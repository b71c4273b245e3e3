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
                bool everyAddress = endPoint.Address.Equals(IPAddress.Any);
                // Validation allows IPv4 only: HttpListener's prefixes do not take IPv6 literals.
                listener.Host = everyAddress ? "127.0.0.1" : endPoint.Address.ToString();
                listener.Port = endPoint.Port;
                listener.ScrapeEndpointPath = options.Path;
                // HttpListener serves only requests whose Host is its prefix's host: bound to 0.0.0.0 it would answer only
                // "Host: 0.0.0.0". Its wildcard "+" binds every IPv4 address and answers under any Host.
                if (everyAddress)
                {
                    listener.ConfigureHttpListener = static (settings, http) =>
                    {
                        http.Prefixes.Clear();
                        http.Prefixes.Add($"http://+:{settings.Port}{settings.ScrapeEndpointPath}/");
                    };
                }
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
}
