using System.Text.Json;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.TlsFeatures;

/// <summary>
/// The front owns one rotating ticket-key ring and sends it to every passthrough worker: without a key file, a session
/// issued by one worker resumes on the other, also with a ticket issued after a rotation (which the other worker can only
/// decrypt if the front sent it the new key).
/// </summary>
public sealed class SharedTicketRingTests
{
    [Fact]
    public async Task ASessionIssuedByOneWorkerResumesOnTheOtherAfterARotation()
    {
        string directory = Directory.CreateTempSubdirectory("baton-ring-").FullName;
        try
        {
            string config = WriteConfig(directory, rotation: "00:00:02", window: "00:05:00");
            string session = Path.Combine(directory, "session.pem");
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            // A rotation, and both workers holding the new ring: tickets from now on are under a key neither had at start.
            await front.WaitForOutputAsync("ticket keys: the front's ring changed", TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(() => front.CountOutput("ticket keys replaced by the front's ring") >= 2,
                "both workers hold the rotated ring", TimeSpan.FromSeconds(30));

            // The first connection stays open, so the front gives the second one to the other worker (least busy).
            await using ChildProcess first = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_out", session);
            await first.RequestAsync("/issued");
            await using ChildProcess second = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", session);
            await second.RequestAsync("/resumed");

            Assert.NotEqual(WorkerPid(first.Output), WorkerPid(second.Output));
            Assert.Contains("Reused, TLSv1.3", second.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ATicketPastTheDecryptionWindowDoesNotResume()
    {
        string directory = Directory.CreateTempSubdirectory("baton-ring-").FullName;
        try
        {
            // Rotated every 500 ms, decrypting for nothing past that: a ticket is useless once two rotations went by.
            string config = WriteConfig(directory, rotation: "00:00:00.5", window: "00:00:00");
            string session = Path.Combine(directory, "session.pem");
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            await using (ChildProcess first = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_out", session))
                await first.RequestAsync("/issued");
            int changes = front.CountOutput("ticket keys: the front's ring changed");
            await Wait.UntilAsync(() => front.CountOutput("ticket keys: the front's ring changed") >= changes + 3,
                "the ring rotated past the ticket's key", TimeSpan.FromSeconds(30));
            await using ChildProcess second = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", session);
            await second.RequestAsync("/not-resumed");
            Assert.Contains("New, TLSv1.3", second.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AReloadedKeyFileReachesTheRunningWorkers()
    {
        string directory = Directory.CreateTempSubdirectory("baton-ring-").FullName;
        try
        {
            string keys = Path.Combine(directory, "ticket.key");
            await File.WriteAllBytesAsync(keys, System.Security.Cryptography.RandomNumberGenerator.GetBytes(80));
            string config = WriteConfig(directory, rotation: "12:00:00", window: "12:00:00", keyFile: keys);
            string before = Path.Combine(directory, "before.pem"), after = Path.Combine(directory, "after.pem");
            await using BatonFront front = await BatonFront.StartAsync(["--config", config]);
            await using (ChildProcess old = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_out", before))
                await old.RequestAsync("/before");

            // A new key file only: tickets under the old key stop resuming, those under the new one resume on either worker.
            await File.WriteAllBytesAsync(keys, System.Security.Cryptography.RandomNumberGenerator.GetBytes(80));
            ProcessResult reload = await front.ControlAsync("reload");
            Assert.True(reload.ExitCode == 0, reload.ToString());
            await Wait.UntilAsync(() => front.CountOutput("ticket keys replaced by the front's ring") >= 2,
                "both workers hold the reloaded ring", TimeSpan.FromSeconds(30));

            await using ChildProcess first = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_out", after);
            await first.RequestAsync("/issued");
            await using ChildProcess second = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", after);
            await second.RequestAsync("/resumed");
            Assert.NotEqual(WorkerPid(first.Output), WorkerPid(second.Output));
            Assert.Contains("Reused, TLSv1.3", second.Output);
            await using ChildProcess stale = await SClient.ConnectAsync(front.Port, "-tls1_3", "-sess_in", before);
            await stale.RequestAsync("/stale");
            Assert.Contains("New, TLSv1.3", stale.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string WorkerPid(string output) =>
        output.Split('\n').First(line => line.StartsWith("worker pid: ", StringComparison.Ordinal));

    private static string WriteConfig(string directory, string rotation, string window, string? keyFile = null)
    {
        string path = Path.Combine(directory, "baton.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Baton = new
            {
                Listeners = new[] { new { Address = "127.0.0.1:0" } },
                Pools = new Dictionary<string, object> { ["default"] = new { Workers = 2, Mode = "passthrough" } },
                SessionTickets = new { RotationInterval = rotation, DecryptionWindow = window, KeyFile = keyFile },
            },
        }));
        return path;
    }
}
