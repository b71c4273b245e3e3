using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Baton.Hosting.Control;

/// <summary>The CLI's side of the control socket: one request, one reply, bounded in size and in time.</summary>
internal static class ControlClient
{
    /// <summary>
    /// Sends <paramref name="command"/> and returns the reply's result; throws <see cref="ControlReplyException"/> with the
    /// front's error, or <see cref="ControlException"/> when the front cannot be reached or does not answer within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<JsonNode?> SendAsync(string path, string command, TimeSpan timeout, CancellationToken cancellationToken, JsonObject? arguments = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(ControlProtocol.Request(command, arguments), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            string line = await ControlProtocol.ReadLineAsync(socket, ControlProtocol.MaxReplyBytes, deadline.Token).ConfigureAwait(false);
            return ControlProtocol.ParseReply(line);
        }
        catch (SocketException ex)
        {
            throw new ControlException(ex.SocketErrorCode switch
            {
                SocketError.AddressNotAvailable or SocketError.ConnectionRefused =>
                    $"no front answers on {path} ({ex.Message}); is it running, and is this its Baton:Control:Socket?",
                SocketError.AccessDenied => $"{path}: {ex.Message}; run as the front's user or root",
                _ => $"{path}: {ex.Message}",
            });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlException($"the front on {path} did not answer '{command}' within {timeout.TotalSeconds:0} s");
        }
    }
}
