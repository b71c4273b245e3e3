using System.Net;
using System.Net.Sockets;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Observability;

/// <summary>A real front with its Prometheus endpoint on a free port, and a scraper that parses every scrape strictly.</summary>
internal sealed class MetricsFront : IAsyncDisposable
{
    private readonly TempFile _config;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private MetricsFront(TempFile config, BatonFront front, int metricsPort)
    {
        _config = config;
        Front = front;
        MetricsPort = metricsPort;
    }

    public BatonFront Front { get; }
    public int MetricsPort { get; }
    public string Url => $"http://127.0.0.1:{MetricsPort}/metrics";

    /// <summary>Starts a front whose "Baton" section is <paramref name="baton"/> plus the Metrics section (given the address).</summary>
    public static async Task<MetricsFront> StartAsync(Func<string, object> baton, IDictionary<string, string>? environment = null)
    {
        int port = FreePort();
        TempFile config = TempFile.Config(baton($"127.0.0.1:{port}"));
        try
        {
            BatonFront front = await BatonFront.StartAsync(["--config", config.Path], environment);
            return new MetricsFront(config, front, port);
        }
        catch
        {
            config.Dispose();
            throw;
        }
    }

    /// <summary>A port nothing listens on now (the kernel's pick); the endpoint takes a fixed port, as HttpListener does.</summary>
    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async Task<PrometheusText> ScrapeAsync()
    {
        using HttpResponseMessage response = await _http.GetAsync(Url);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds (the exporter caches a scrape for 300 ms); returns that scrape.</summary>
    public async Task<PrometheusText> ScrapeUntilAsync(Func<PrometheusText, bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Wait.DefaultTimeout;
        while (true)
        {
            PrometheusText scrape = await ScrapeAsync();
            if (condition(scrape))
                return scrape;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting until {what}; last scrape:\n" +
                    string.Join("\n", scrape.Samples.Where(s => s.Name.StartsWith("baton_", StringComparison.Ordinal))
                        .Select(s => $"{s.Name}{{{string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))}}} {s.Value}")));
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Front.DisposeAsync();
        _config.Dispose();
    }
}
