using Baton.Tests.Infrastructure;

namespace Baton.Tests.Observability;

/// <summary>The test's exposition-format reader refuses what Prometheus would: a reader that accepts anything proves nothing.</summary>
public sealed class PrometheusTextTests
{
    private const string Good = """
        # TYPE requests_total counter
        # HELP requests_total Requests.
        requests_total{pool="a",path="x\"y\\z\n"} 3
        requests_total{pool="b"} 4 1700000000000
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 1
        latency_seconds_bucket{le="+Inf"} 2
        latency_seconds_sum 0.3
        latency_seconds_count 2
        up NaN

        """;

    [Fact]
    public void AWellFormedExpositionIsRead()
    {
        PrometheusText text = PrometheusText.Parse(Good.Replace("\r", ""));

        Assert.Equal(7, text.Sum("requests_total"));
        Assert.Equal("x\"y\\z\n", Assert.Single(text.Matching("requests_total", "pool=a")).Labels["path"]);
        Assert.Equal("histogram", text.TypesByFamily["latency_seconds"]);
        Assert.True(double.IsNaN(text.Sum("up")));
    }

    [Theory]
    [InlineData("requests_total 1", "does not end with a line feed")]
    [InlineData("1requests 1\n", "is not a metric name")]
    [InlineData("requests_total{pool=a} 1\n", "is not name=\"value\"")]
    [InlineData("requests_total{pool=\"a\\t\"} 1\n", "unknown escape")]
    [InlineData("requests_total one\n", "is not a float")]
    [InlineData("requests_total 1 2 3\n", "only a timestamp")]
    [InlineData("requests_total 1\nrequests_total 2\n", "appears twice")]
    [InlineData("a 1\nb 1\na{x=\"1\"} 1\n", "not contiguous")]
    [InlineData("# TYPE a gauge\n# TYPE a gauge\n", "a second TYPE")]
    [InlineData("# TYPE a meter\n", "is not one of")]
    [InlineData("a 1\n# TYPE a gauge\n", "after its samples")]
    [InlineData("# TYPE requests counter\nrequests 1\n", "does not end in _total")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not cumulative")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "do not rise to +Inf")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", "_count is not the +Inf bucket")]
    public void AMalformedExpositionIsRefused(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => PrometheusText.Parse(text)).Message);
}
