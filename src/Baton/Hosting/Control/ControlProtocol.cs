using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Baton.Hosting.Control;

/// <summary>
/// The control socket's protocol: one request per connection, one JSON object on one line each way.
/// Request <c>{"baton":1,"command":"status"}</c>; reply <c>{"baton":1,"ok":true,"result":{...}}</c> or
/// <c>{"baton":1,"ok":false,"error":"...","problems":["..."]}</c>. A request is at most <see cref="MaxRequestBytes"/>
/// and must arrive within <see cref="RequestTimeout"/>; a reply is at most <see cref="MaxReplyBytes"/>.
/// </summary>
internal static class ControlProtocol
{
    /// <summary>The version both sides write in "baton"; a front answers another version with an error naming its own.</summary>
    public const int Version = 1;
    public const int MaxRequestBytes = 4096;
    public const int MaxReplyBytes = 1024 * 1024;
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public static byte[] Request(string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["baton"] = Version, ["command"] = command };
        foreach ((string key, JsonNode? value) in arguments ?? [])
            request[key] = value?.DeepClone();
        return Encode(request);
    }

    public static byte[] Success(JsonNode? result) => Encode(new JsonObject { ["baton"] = Version, ["ok"] = true, ["result"] = result });

    public static byte[] Failure(string error, IEnumerable<string>? problems = null)
    {
        var reply = new JsonObject { ["baton"] = Version, ["ok"] = false, ["error"] = error };
        if (problems is not null)
            reply["problems"] = new JsonArray([.. problems.Select(p => JsonValue.Create(p))]);
        return Encode(reply);
    }

    /// <summary>Parses a request line: the command name and the whole object, or a <see cref="ControlException"/> saying what is wrong.</summary>
    public static (string Command, JsonObject Request) ParseRequest(string line)
    {
        JsonObject request = ParseObject(line, "request");
        if (request["baton"] is not JsonValue version || !version.TryGetValue(out int number))
            throw new ControlException("malformed request: no protocol version (\"baton\": 1)");
        if (number != Version)
            throw new ControlException($"unsupported protocol version {number}; this front speaks {Version}");
        if (request["command"] is not JsonValue command || !command.TryGetValue(out string? name) || string.IsNullOrEmpty(name))
            throw new ControlException("malformed request: no \"command\"");
        return (name, request);
    }

    /// <summary>Parses a reply: its result, or a <see cref="ControlReplyException"/> with the front's error and problems.</summary>
    public static JsonNode? ParseReply(string line)
    {
        JsonObject reply = ParseObject(line, "reply");
        if (reply["ok"] is JsonValue ok && ok.TryGetValue(out bool success) && success)
            return reply["result"];
        string error = reply["error"] is JsonValue e && e.TryGetValue(out string? text) ? text : "the front answered without an error message";
        string[] problems = reply["problems"] is JsonArray list ? [.. list.Select(p => p?.ToString() ?? "")] : [];
        throw new ControlReplyException(error, problems);
    }

    private static JsonObject ParseObject(string line, string what)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject ?? throw new ControlException($"malformed {what}: not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ControlException($"malformed {what}: {ex.Message}");
        }
    }

    /// <summary>Quotes and apostrophes as they are: the reply is read by programs and people, never put in HTML.</summary>
    private static readonly JsonSerializerOptions Wire = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Encode(JsonObject message) => Encoding.UTF8.GetBytes(message.ToJsonString(Wire) + "\n");

    /// <summary>
    /// Reads one line (without its newline) of at most <paramref name="maxBytes"/>; a peer that closes first, sends more
    /// or sends invalid UTF-8 gets a <see cref="ControlException"/>. The caller bounds the time with <paramref name="cancellationToken"/>.
    /// </summary>
    public static async Task<string> ReadLineAsync(Socket socket, int maxBytes, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[maxBytes + 1];
        int length = 0;
        while (true)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new ControlException(length == 0 ? "closed without a request" : "closed before the end of the line");
            int newline = Array.IndexOf(buffer, (byte)'\n', length, read);
            length += read;
            if (newline >= 0)
                return Decode(buffer.AsSpan(0, newline));
            if (length > maxBytes)
                throw new ControlException($"more than {maxBytes} bytes without a newline");
        }
    }

    private static string Decode(ReadOnlySpan<byte> line)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(line);
        }
        catch (DecoderFallbackException)
        {
            throw new ControlException("malformed request: not UTF-8");
        }
    }
}

/// <summary>A control request or reply that cannot be read; its message is what the peer is told.</summary>
internal class ControlException(string message) : Exception(message);

/// <summary>The front answered with an error: its message, and the problems it listed (a refused reload's keys).</summary>
internal sealed class ControlReplyException(string message, IReadOnlyList<string> problems) : ControlException(message)
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
