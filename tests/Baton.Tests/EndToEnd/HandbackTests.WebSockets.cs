using System.Net.WebSockets;
using System.Text;

namespace Baton.Tests.EndToEnd;

public sealed partial class HandbackTests
{
    /// <summary>
    /// An upgraded connection under the gate (routes are configured) is no longer HTTP: the gate passes the WebSocket
    /// frames through instead of parsing them as the next request head, so every message comes back.
    /// </summary>
    [Fact]
    public async Task AWebSocketUnderTheGateEchoesEveryMessage()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new ClientWebSocket();
        client.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        await client.ConnectAsync(new Uri($"wss://localhost:{Front.Port}/echo"), timeout.Token);
        byte[] buffer = new byte[4096];
        for (int i = 0; i < 5; i++)
        {
            string message = $"message {i}";
            await client.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
            ValueWebSocketReceiveResult received = await client.ReceiveAsync(buffer.AsMemory(), timeout.Token);
            Assert.True(received.EndOfMessage, Front.Output);
            Assert.Equal(message, Encoding.UTF8.GetString(buffer, 0, received.Count));
        }
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }
}
