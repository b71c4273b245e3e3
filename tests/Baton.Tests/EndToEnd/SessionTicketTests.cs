using System.Security.Cryptography;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// Handoff fronts that share a ticket-key file resume each other's sessions; others do not. Passthrough workers
/// of one pool resume each other's sessions, with a key file or with the front's rotating ring.
/// </summary>
public sealed class SessionTicketTests
{
    [Fact]
    public async Task FrontsSharingAKeyFileResumeEachOthersSessions()
    {
        string directory = Directory.CreateTempSubdirectory("baton-tickets-").FullName;
        try
        {
            string keys = Path.Combine(directory, "ticket.key");
            await File.WriteAllBytesAsync(keys, RandomNumberGenerator.GetBytes(80));
            string shared = WriteConfig(directory, "shared.json", keys);
            string own = WriteConfig(directory, "own.json", null);
            string session = Path.Combine(directory, "session.pem");

            await using BatonFront first = await BatonFront.StartAsync(["--config", shared]);
            await using BatonFront second = await BatonFront.StartAsync(["--config", shared]);
            await using BatonFront stranger = await BatonFront.StartAsync(["--config", own]);

            await using (ChildProcess client = await SClient.ConnectAsync(first.Port, "-tls1_3", "-sess_out", session))
                await client.RequestAsync("/new");
            await using (ChildProcess client = await SClient.ConnectAsync(second.Port, "-tls1_3", "-sess_in", session))
            {
                await client.RequestAsync("/resumed-elsewhere");
                Assert.Contains("Reused, TLSv1.3", client.Output);
            }
            await using (ChildProcess client = await SClient.ConnectAsync(stranger.Port, "-tls1_3", "-sess_in", session))
            {
                await client.RequestAsync("/not-resumed");
                Assert.Contains("New, TLSv1.3", client.Output);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PassthroughWorkersShareTheFrontsKeys(bool withKeyFile)
    {
        string directory = Directory.CreateTempSubdirectory("baton-tickets-").FullName;
        try
        {
            string? keys = withKeyFile ? Path.Combine(directory, "ticket.key") : null;
            if (keys is not null)
                await File.WriteAllBytesAsync(keys, RandomNumberGenerator.GetBytes(160));
            string config = WriteConfig(directory, "passthrough.json", keys, mode: "passthrough", workers: 2);
            string session = Path.Combine(directory, "session.pem");
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);

            // The first connection stays open, so the front gives the second one to the other worker (least busy).
            await using ChildProcess first = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_out", session);
            await first.RequestAsync("/first");
            await using ChildProcess second = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", session);
            await second.RequestAsync("/second");

            Assert.NotEqual(WorkerPid(first.Output), WorkerPid(second.Output));
            Assert.Contains("Reused, TLSv1.3", second.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string WorkerPid(string output) =>
        output.Split('\n').First(line => line.StartsWith("worker pid: ", StringComparison.Ordinal));

    private static string WriteConfig(string directory, string name, string? keyFile, string mode = "handoff", int workers = 1)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = workers, Mode = mode } },
                SessionTickets = new { KeyFile = keyFile },
            },
        }));
        return path;
    }
}
