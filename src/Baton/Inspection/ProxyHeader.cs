using System.Net;

namespace Baton.Inspection;

/// <summary>A parsed PROXY protocol header.</summary>
internal sealed class ProxyHeader
{
    /// <summary>1 (text) or 2 (binary).</summary>
    public int Version { get; internal init; }

    /// <summary>v2 LOCAL command (health check from the proxy itself): use the socket's own addresses.</summary>
    public bool IsLocal { get; internal init; }

    /// <summary>The original client; null for LOCAL, v1 UNKNOWN, v2 AF_UNSPEC and AF_UNIX.</summary>
    public IPEndPoint? Source { get; internal init; }

    /// <summary>The address the client connected to; null whenever <see cref="Source"/> is.</summary>
    public IPEndPoint? Destination { get; internal init; }

    /// <summary>Exact header length: the front reads (consumes) exactly this many bytes from the socket.</summary>
    public int Length { get; internal init; }

    /// <summary>v2 with addresses: where the TLVs start in the header (up to <see cref="Length"/>; read them with ProxyV2Format.TryFindTlv).</summary>
    public int TlvOffset { get; internal init; }
}
