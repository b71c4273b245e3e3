using System.Net;

namespace Baton.AspNetCore;

/// <summary>
/// The endpoint Kestrel listens on when the process is a Baton worker: not an address but the
/// channel the front passed at spawn, through which it hands over live client connections.
/// Internal: <c>UseBaton</c> listens on it, and a second listen on the one channel could not bind.
/// </summary>
internal sealed class BatonEndPoint : EndPoint
{
    public override string ToString() => "baton-channel";

    public override bool Equals(object? obj) => obj is BatonEndPoint;

    public override int GetHashCode() => typeof(BatonEndPoint).GetHashCode();
}
