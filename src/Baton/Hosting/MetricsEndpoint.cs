using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
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
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(BatonMetrics.MeterName)
            .AddPrometheusHttpListener(listener =>
            {
                listener.Host = ListenerHost(endPoint.Address);
                listener.Port = endPoint.Port;
                listener.ScrapeEndpointPath = options.Path;
            }));
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
