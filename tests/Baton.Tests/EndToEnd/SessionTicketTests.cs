using System.Security.Cryptography;
using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>Handoff fronts that share a ticket-key file resume each other's sessions; others do not.</summary>
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

            await using (SClientSession client = await SClientSession.ConnectAsync(first.Port, "-tls1_3", "-sess_out", session))
                await client.RequestAsync("/new");
            await using (SClientSession client = await SClientSession.ConnectAsync(second.Port, "-tls1_3", "-sess_in", session))
            {
                await client.RequestAsync("/resumed-elsewhere");
                Assert.Contains("Reused, TLSv1.3", client.Output);
            }
            await using (SClientSession client = await SClientSession.ConnectAsync(stranger.Port, "-tls1_3", "-sess_in", session))
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

    private static string WriteConfig(string directory, string name, string? keyFile)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = 1, Mode = "handoff" } },
                SessionTickets = new { KeyFile = keyFile },
            },
        }));
        return path;
    }
}
