using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>What the front logs for connections it gives up on: a flood is bounded, an unused connection is not a warning.</summary>
public sealed partial class FailureLogTests
{
    [Fact]
    public async Task AFloodOfBadConnectionsWritesTheFirstTenLinesPerIntervalAndASummaryThatCountsThemAll()
    {
        const int flood = 300;
        await using BatonFront front = await BatonFront.StartAsync();
        byte[] plainHttp = Clients.Ascii("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        using var concurrency = new SemaphoreSlim(20);
        await Task.WhenAll(Enumerable.Range(0, flood).Select(async _ =>
        {
            await concurrency.WaitAsync();
            try
            {
                using Socket socket = await Clients.SendRawAsync(front.Port, plainHttp);
                await Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30));
            }
            finally
            {
                concurrency.Release();
            }
        }));

        // A summarised interval logged 10 of its count; any other interval logged all of its failures.
        int individual = 0;
        long summarised = 0;
        int summaries = 0;
        await Wait.UntilAsync(() =>
        {
            string[] lines = front.Output.Split('\n');
            individual = lines.Count(l => l.Contains("failed: reason=plain_http: ", StringComparison.Ordinal));
            long[] counts = lines.Select(l => SummaryCount().Match(l)).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value)).ToArray();
            summaries = counts.Length;
            summarised = counts.Sum(count => count - 10);
            return individual + summarised == flood;
        }, $"the lines account for all {flood} failures");

        Assert.InRange(summaries, 1, flood);
        Assert.InRange(individual, 10, 10 * (summaries + 1));
        Assert.InRange(individual + summaries, 11, flood / 4);
        Assert.Contains("pool: default", await Clients.CurlAsync(front.Port));
    }

    [Fact]
    public async Task AConnectionClosedOrResetBeforeSendingAnythingIsADebugLineNotAWarning()
    {
        await using BatonFront front = await BatonFront.StartAsync();
        for (int i = 0; i < 4; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, front.Port);
            // Health checks often hang up with a reset; browsers' preconnects close.
            if (i % 2 == 1)
                socket.LingerState = new LingerOption(true, 0);
        }

        await Wait.UntilAsync(() => front.CountOutput("closed before sending anything (reason=preconnect)") == 4, "four preconnects are logged");
        Assert.All(front.Output.Split('\n').Where(l => l.Contains("reason=preconnect", StringComparison.Ordinal)),
            line => Assert.Contains(" dbug: Baton.Front[13] ", line));
        Assert.Equal(0, front.CountOutput("reason=peer_closed"));
        Assert.Equal(0, front.CountOutput("reason=socket_error"));
    }

    [GeneratedRegex(@"connection failures in the last 10 s: reason=plain_http count=(\d+) ")]
    private static partial Regex SummaryCount();
}
