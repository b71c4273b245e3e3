using System.Net;
using System.Net.Sockets;

namespace Baton.Configuration;

/// <summary>Checks Baton:Metrics and Baton:AccessLog at start, naming the key of each problem.</summary>
internal static class ObservabilityValidator
{
    public static void Validate(BatonOptions options, Action<string, string> fail)
    {
        PrometheusOptions prometheus = options.Metrics.Prometheus;
        if (prometheus.Address is string address)
        {
            if (!IPEndPoint.TryParse(address, out IPEndPoint? endPoint) || endPoint.Port == 0)
                fail("Metrics:Prometheus:Address", $"'{address}' is not an address:port such as 127.0.0.1:9464");
            else if (endPoint.AddressFamily != AddressFamily.InterNetwork)
                fail("Metrics:Prometheus:Address", $"'{address}': the endpoint (.NET's HttpListener on Linux) takes an IPv4 address, 0.0.0.0 for every one");
        }
        // The exporter makes its listener's prefix of it plus "/": a trailing slash (or "/" alone) would make that "//".
        if (!prometheus.Path.StartsWith('/') || prometheus.Path.EndsWith('/') || prometheus.Path.Any(c => c <= ' ' || c is '?' or '#' or '%' or (char)0x7f))
            fail("Metrics:Prometheus:Path", $"'{prometheus.Path}' is not a path such as /metrics");
        if (AccessLogFormat.Parse(options.AccessLog.Format, out string? problem) is null)
            fail("AccessLog:Format", problem!);
    }
}
