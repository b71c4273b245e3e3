namespace Baton.Configuration;

/// <summary>Where the front publishes its metrics (Baton:Metrics); nothing is exposed unless configured.</summary>
internal sealed class MetricsOptions
{
    public PrometheusOptions Prometheus { get; set; } = new();
}

/// <summary>The Prometheus scrape endpoint (Baton:Metrics:Prometheus), plain HTTP, off while Address is null.</summary>
internal sealed class PrometheusOptions
{
    public const string DefaultPath = "/metrics";

    /// <summary>"host:port" to listen on, e.g. "127.0.0.1:9464"; null: no endpoint.</summary>
    public string? Address { get; set; }

    /// <summary>The scrape path.</summary>
    public string Path { get; set; } = DefaultPath;
}

/// <summary>
/// One line per connection the front handed off or gave up on (Baton:AccessLog), written to the "Baton.Access" log
/// category; off by default. <see cref="Format"/> is literal text with <c>{field}</c> placeholders (AccessLogFormat).
/// </summary>
internal sealed class AccessLogOptions
{
    public const string DefaultFormat =
        "{time} {client} sni={sni} alpn={alpn} {tls_version} {tls_cipher} \"{method} {path}\" host={host} " +
        "listener={listener} pool={pool} worker={worker_pid} {result} reason={reason} bytes={request_bytes} " +
        "dispatch_ms={dispatch_ms} total_ms={duration_ms}";

    public bool Enabled { get; set; }

    public string Format { get; set; } = DefaultFormat;
}
