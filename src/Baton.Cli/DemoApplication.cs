using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Baton.Workers;

namespace Baton.Cli;

/// <summary>
/// The built-in worker application: answers every HTTP/1.1 request on the connection (keep-alive)
/// with a page of facts about the handoff — the worker's pid, its pool, the mode, TLS version and
/// suite, SNI, ALPN and the client address — so a person sees who served them.
/// </summary>
internal static class DemoApplication
{
    private const int MaxHeadBytes = 32 * 1024;

    public static async Task HandleAsync(WorkerConnection connection, Stream stream, CancellationToken draining)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            int buffered = 0;
            while (true)
            {
                int headEnd;
                while ((headEnd = buffer.AsSpan(0, buffered).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    if (buffered == MaxHeadBytes)
                    {
                        await WriteAsync(stream, 431, "request head too large\n", close: true).ConfigureAwait(false);
                        return;
                    }
                    int read = await stream.ReadAsync(buffer.AsMemory(buffered, MaxHeadBytes - buffered)).ConfigureAwait(false);
                    if (read == 0)
                        return;
                    buffered += read;
                }
                string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
                int bodyStart = headEnd + 4;
                long bodyLength = ContentLength(head);
                using var bodyHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                int inBuffer = (int)Math.Min(bodyLength, buffered - bodyStart);
                // The head is decoded already, so the whole buffer can serve as scratch for the body.
                bodyHash.AppendData(buffer, bodyStart, inBuffer);
                if (!await ReadBodyAsync(stream, bodyHash, bodyLength - inBuffer, buffer.AsMemory()).ConfigureAwait(false))
                    return;
                string bodyDigest = Convert.ToHexStringLower(bodyHash.GetHashAndReset());
                bool close = draining.IsCancellationRequested || WantsClose(head);
                await WriteAsync(stream, 200, FactsPage(connection, head, bodyLength, bodyDigest), close).ConfigureAwait(false);
                if (close)
                    return;
                int consumed = bodyStart + inBuffer;
                buffer.AsSpan(consumed, buffered - consumed).CopyTo(buffer);
                buffered -= consumed;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads and hashes the rest of a request body; false when the client closed first.</summary>
    private static async Task<bool> ReadBodyAsync(Stream stream, IncrementalHash hash, long remaining, Memory<byte> scratch)
    {
        while (remaining > 0)
        {
            int read = await stream.ReadAsync(scratch[..(int)Math.Min(scratch.Length, remaining)]).ConfigureAwait(false);
            if (read == 0)
                return false;
            hash.AppendData(scratch.Span[..read]);
            remaining -= read;
        }
        return true;
    }

    private static string FactsPage(WorkerConnection connection, string head, long bodyLength, string bodyDigest)
    {
        string requestLine = head.Split("\r\n", 2)[0];
        return $"""
            Hello from Baton.
            worker pid: {Environment.ProcessId}
            pool: {connection.Pool}
            mode: {connection.Mode.ToString().ToLowerInvariant()}
            tls: {connection.TlsProtocol} {connection.CipherSuite}
            sni: {connection.ServerName ?? "-"}
            alpn: {connection.ApplicationProtocol ?? "-"}
            client: {connection.RemoteEndPoint?.ToString() ?? "-"}
            request: {requestLine}
            body: {bodyLength} bytes, sha256 {bodyDigest}

            """;
    }

    private static bool WantsClose(string head) =>
        head.StartsWith("HTTP/1.0", StringComparison.Ordinal)
        || head.Split("\r\n", 2)[0].EndsWith("HTTP/1.0", StringComparison.Ordinal)
        || head.Contains("\r\nConnection: close", StringComparison.OrdinalIgnoreCase);

    private static long ContentLength(string head)
    {
        foreach (string line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(line.AsSpan(15).Trim(), out long length) && length >= 0)
                return length;
        }
        return 0;
    }

    private static async Task WriteAsync(Stream stream, int status, string body, bool close)
    {
        string reason = status == 200 ? "OK" : "Request Header Fields Too Large";
        byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {bodyBytes.Length}\r\n"
            + $"Server: Baton\r\nConnection: {(close ? "close" : "keep-alive")}\r\n\r\n";
        byte[] response = [.. Encoding.ASCII.GetBytes(head), .. bodyBytes];
        await stream.WriteAsync(response).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }
}
