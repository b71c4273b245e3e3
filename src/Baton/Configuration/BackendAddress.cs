using System.Net;
using System.Net.Sockets;

namespace Baton.Configuration;

/// <summary>
/// A proxy pool's backend as configured: "host:port" (an IP address or a host name, resolved at each connection
/// attempt) or the absolute path of a Unix stream socket.
/// </summary>
internal static class BackendAddress
{
    /// <summary>Longest Unix socket path (sun_path is 108 bytes with its NUL).</summary>
    private const int MaxUnixPathBytes = 107;

    public static bool TryParse(string text, out EndPoint? endPoint)
    {
        endPoint = null;
        if (text.StartsWith('/'))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxUnixPathBytes || text.Contains('\0'))
                return false;
            endPoint = new UnixDomainSocketEndPoint(text);
            return true;
        }
        if (IPEndPoint.TryParse(text, out IPEndPoint? ip) && ip.Port != 0 && text.Contains(':'))
        {
            endPoint = ip;
            return true;
        }
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out ushort port) || port == 0)
            return false;
        string host = text[..colon];
        if (!HostPattern.IsValid(host) || host.StartsWith('*'))
            return false;
        endPoint = new DnsEndPoint(host, port);
        return true;
    }

    /// <summary>How a backend is named in log lines: "127.0.0.1:8080", "unix:/run/app.sock".</summary>
    public static string Describe(EndPoint endPoint) => endPoint switch
    {
        UnixDomainSocketEndPoint unix => $"unix:{unix}",
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString() ?? "?",
    };
}
