namespace Baton.Tests.Infrastructure;

/// <summary>
/// An interactive `openssl s_client` to 127.0.0.1 with SNI "localhost", as a <see cref="ChildProcess"/>: the test writes
/// lines (requests, or the `k`/`K` KeyUpdate commands) and waits for the answer before writing the next, never sleeping.
/// </summary>
public static class SClient
{
    /// <summary>No -ign_eof: it would also turn off the k/K commands; stdin stays open until the test closes it.</summary>
    public static ChildProcess Start(int port, params string[] arguments) =>
        ChildProcess.Start("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", .. arguments]);

    /// <summary>Starts s_client and waits until the handshake is done (the first "---" separator).</summary>
    public static async Task<ChildProcess> ConnectAsync(int port, params string[] arguments)
    {
        ChildProcess client = Start(port, arguments);
        try
        {
            await client.WaitForOutputAsync("---\n");
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
        return client;
    }

    /// <summary>Sends a GET to a Baton front and waits until its demo page for that path arrives.</summary>
    public static async Task RequestAsync(this ChildProcess client, string path)
    {
        await client.WriteAsync($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        await client.WaitForOutputAsync($"request: GET {path} HTTP/1.1");
    }
}
