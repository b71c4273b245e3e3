using System.Net;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>SNI routes and PROXY protocol headers, through a configuration file.</summary>
public sealed class RoutingTests
{
    private static string WriteConfig(object baton)
    {
        string path = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { Baton = baton }));
        return path;
    }

    [Fact]
    public async Task ServerNamePicksThePool()
    {
        string config = WriteConfig(new
        {
            Listeners = new[] { new { Name = "main", Address = "127.0.0.1:0" } },
            Pools = new Dictionary<string, object>
            {
                ["default"] = new { Workers = 1 },
                ["a"] = new { Workers = 1 },
                ["b"] = new { Workers = 1 },
            },
            Routes = new object[]
            {
                new { ServerNames = new[] { "a.example" }, Pool = "a" },
                new { ServerNames = new[] { "b.example", "*.b.example" }, Pool = "b" },
            },
        });
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            Assert.Equal("a", Clients.FactsField(await Clients.CurlAsync(front.Port, "a.example"), "pool"));
            Assert.Equal("b", Clients.FactsField(await Clients.CurlAsync(front.Port, "b.example"), "pool"));
            Assert.Equal("b", Clients.FactsField(await Clients.CurlAsync(front.Port, "x.b.example"), "pool"));
            Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(front.Port, "unknown.example"), "pool"));
            string page = await Clients.CurlAsync(front.Port, "a.example");
            Assert.Contains(Clients.WorkerPid(page), front.InitialWorkers["a"]);
        }
        finally
        {
            File.Delete(config);
        }
    }

    public static TheoryData<string> ProxyHeaders => new()
    {
        "v1",
        "v2",
    };

    [Theory]
    [MemberData(nameof(ProxyHeaders))]
    public async Task ProxyHeaderGivesTheClientAddressAndABadOneClosesOnlyThatConnection(string version)
    {
        string config = WriteConfig(new
        {
            Listeners = new[] { new { Name = "proxied", Address = "127.0.0.1:0", ProxyProtocol = true } },
        });
        try
        {
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            byte[] header = version == "v1"
                ? Clients.Ascii("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
                : ProxyV2(IPAddress.Parse("2001:db8::7"), 40000, IPAddress.Parse("2001:db8::1"), 443);
            string expected = version == "v1" ? "203.0.113.7:51234" : "[2001:db8::7]:40000";

            await using (TlsConnection connection = await TlsConnection.OpenAsync(front.Port, preamble: header))
                Assert.Equal(expected, Clients.FactsField(await connection.GetAsync(), "client"));

            using (var bad = await Clients.SendRawAsync(front.Port, Clients.Ascii("PROXY TCP4 999.0.0.1 192.0.2.1 1 2\r\n")))
                Assert.Empty(await Clients.ReadUntilClosedAsync(bad, TimeSpan.FromSeconds(30)));
            await front.WaitForOutputAsync("reason=proxy_header_invalid");

            await using (TlsConnection next = await TlsConnection.OpenAsync(front.Port, preamble: header))
                Assert.Equal(expected, Clients.FactsField(await next.GetAsync(), "client"));
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static byte[] ProxyV2(IPAddress source, int sourcePort, IPAddress destination, int destinationPort)
    {
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        var body = new List<byte>();
        body.AddRange(source.GetAddressBytes());
        body.AddRange(destination.GetAddressBytes());
        body.AddRange([(byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort]);
        return [.. signature, 0x21, 0x21, (byte)(body.Count >> 8), (byte)body.Count, .. body];
    }
}
