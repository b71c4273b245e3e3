using System.Text;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Bad bytes on the TLS port: each connection is closed with a logged reason and the front keeps serving.</summary>
public sealed class BadInputTests
{
    private static readonly Dictionary<string, string> ShortTimeouts = new()
    {
        ["Baton__Limits__ClientHelloTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task PlainHttpGetsA400()
    {
        await using BatonFront front = await BatonFront.StartAsync(environment: ShortTimeouts);
        using var socket = await Clients.SendRawAsync(front.Port, Clients.Ascii("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        string answer = Encoding.ASCII.GetString(await Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30)));
        Assert.StartsWith("HTTP/1.1 400 Bad Request", answer);
        await front.WaitForOutputAsync("reason=plain_http");
        Assert.Contains("pool: default", await Clients.CurlAsync(front.Port));
    }

    public static TheoryData<string, string> BadClientHellos => new()
    {
        { "random", "reason=client_hello_unexpected_record" }, // not a ClientHello: libssl answers unexpected_message
        { "truncated", "reason=peer_closed" },
        { "huge", "reason=client_hello_too_large" },
        { "silent", "reason=client_hello_timeout" },
    };

    [Theory]
    [MemberData(nameof(BadClientHellos))]
    public async Task BadClientHelloIsClosedWithItsReason(string kind, string logged)
    {
        await using BatonFront front = await BatonFront.StartAsync(environment: ShortTimeouts);
        using (var socket = await Clients.SendRawAsync(front.Port, BadHello(kind)))
        {
            if (kind == "truncated")
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            await Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30));
        }
        await front.WaitForOutputAsync(logged);
        Assert.Contains("pool: default", await Clients.CurlAsync(front.Port));
    }

    [Fact]
    public async Task AThousandBadConnectionsLeaveTheFrontsDescriptorsWhereTheyWere()
    {
        await using BatonFront front = await BatonFront.StartAsync(environment: ShortTimeouts);
        await Clients.CurlAsync(front.Port);
        int baseline = ProcFs.OpenFdCount(front.Pid);
        string[] kinds = ["random", "truncated", "huge", "plain"];
        await Parallel.ForAsync(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            string kind = kinds[i % kinds.Length];
            using var socket = await Clients.SendRawAsync(front.Port, kind == "plain" ? Clients.Ascii("GET / HTTP/1.0\r\n\r\n") : BadHello(kind));
            if (kind == "truncated")
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            await Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30));
        });
        await Wait.UntilAsync(() => ProcFs.OpenFdCount(front.Pid) <= baseline, $"the front's fd count returns to {baseline}");
        Assert.Contains("pool: default", await Clients.CurlAsync(front.Port));
    }

    /// <summary>Bytes that are not a usable ClientHello, each in its own way.</summary>
    private static byte[] BadHello(string kind)
    {
        switch (kind)
        {
            case "random":
                byte[] random = new byte[512];
                new Random(kind.Length).NextBytes(random);
                random[0] = 0x16; // looks like a handshake record, then nonsense
                random[1] = 0x03;
                random[2] = 0x01;
                random[3] = 0x01;
                random[4] = 0xfb;
                random[5] = 0x07; // not a ClientHello message type
                return random;
            case "truncated":
                return [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];
            case "huge":
                // A handshake record stream announcing a 100 KB ClientHello, sent in full.
                var huge = new List<byte>();
                int messageLength = 100 * 1024;
                byte[] message = [0x01, (byte)(messageLength >> 16), (byte)(messageLength >> 8), (byte)messageLength, .. new byte[messageLength]];
                for (int offset = 0; offset < message.Length; offset += 16384)
                {
                    int chunk = Math.Min(16384, message.Length - offset);
                    huge.AddRange([0x16, 0x03, 0x01, (byte)(chunk >> 8), (byte)chunk]);
                    huge.AddRange(message.AsSpan(offset, chunk).ToArray());
                }
                return [.. huge];
            case "silent":
                return [];
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }
}
