using System.Text;

namespace Baton.Front;

/// <summary>Recognises a plain-HTTP request sent to a TLS port, to answer it with a readable 400.</summary>
internal static class PlainHttp
{
    private static readonly byte[][] Methods =
        ["GET "u8.ToArray(), "HEAD "u8.ToArray(), "POST "u8.ToArray(), "PUT "u8.ToArray(), "DELETE "u8.ToArray(),
         "OPTIONS "u8.ToArray(), "PATCH "u8.ToArray(), "CONNECT "u8.ToArray(), "TRACE "u8.ToArray()];

    public static ReadOnlyMemory<byte> BadRequestResponse { get; } = Encoding.ASCII.GetBytes(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 50\r\nConnection: close\r\n\r\n" +
        "This port speaks HTTPS; the request was plain HTTP");

    public static bool LooksLikeRequest(ReadOnlySpan<byte> start)
    {
        foreach (byte[] method in Methods)
        {
            if (start.StartsWith(method))
                return true;
        }
        return false;
    }
}
