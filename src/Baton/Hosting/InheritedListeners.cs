using System.Net;
using System.Net.Sockets;
using Baton.Configuration;
using Baton.IO;

namespace Baton.Hosting;

/// <summary>
/// The listening sockets this front was given instead of binding them (systemd socket activation, or the previous
/// front in a binary upgrade), matched to the configured listeners by name: the socket named like a listener's
/// <c>Name</c> is that listener's. <see cref="FrontService"/> binds only the listeners that got none.
/// </summary>
internal sealed class InheritedListeners
{
    private readonly Dictionary<string, Socket> _byName;

    private InheritedListeners(Dictionary<string, Socket> byName, string source)
    {
        _byName = byName;
        Source = source;
    }

    public static InheritedListeners None { get; } = new([], "");

    /// <summary>Where the sockets came from, for the log: "systemd" or "the previous front".</summary>
    public string Source { get; }

    public int Count => _byName.Count;

    /// <summary>
    /// Takes the sockets from the environment (<see cref="InheritedSockets"/>) and matches them to
    /// <paramref name="listeners"/>. Null with <paramref name="problem"/> set when a socket has no name, a name no
    /// listener has or one twice, or an address family other than its listener's address; every socket is closed then.
    /// </summary>
    public static InheritedListeners? FromEnvironment(IReadOnlyList<ListenerOptions> listeners, bool fromUpgrade, out string? problem)
    {
        string source = fromUpgrade ? "the previous front" : "systemd";
        IReadOnlyList<InheritedSocket> sockets = InheritedSockets.TakeFromEnvironment(pidVouchedFor: fromUpgrade, out problem);
        var byName = new Dictionary<string, Socket>(StringComparer.Ordinal);
        problem ??= Match(sockets, listeners, byName);
        if (problem is null)
            return new InheritedListeners(byName, source);
        foreach (InheritedSocket socket in sockets)
            socket.Socket.Dispose();
        problem = $"listening sockets from {source}: {problem}";
        return null;
    }

    private static string? Match(IReadOnlyList<InheritedSocket> sockets, IReadOnlyList<ListenerOptions> listeners, Dictionary<string, Socket> byName)
    {
        foreach (InheritedSocket socket in sockets)
        {
            ListenerOptions? listener = listeners.FirstOrDefault(l => string.Equals(l.Name, socket.Name, StringComparison.Ordinal));
            if (listener is null)
                return $"'{socket.Name}' is not the name of a listener (listeners: {string.Join(", ", listeners.Select(l => l.Name))}); " +
                    "name each socket after its listener (systemd: FileDescriptorName=)";
            if (!byName.TryAdd(socket.Name, socket.Socket))
                return $"two sockets are named '{socket.Name}'";
            AddressFamily configured = IPEndPoint.Parse(listener.Address).AddressFamily;
            if (socket.Socket.AddressFamily != configured)
                return $"the socket named '{socket.Name}' is {socket.Socket.AddressFamily} ({socket.Socket.LocalEndPoint}) " +
                    $"but listener {listener.Name}'s address {listener.Address} is {configured}";
        }
        return null;
    }

    /// <summary>The socket given for <paramref name="listener"/>, taken (the caller owns it), or null to bind it as usual.</summary>
    public Socket? Take(ListenerOptions listener) => _byName.Remove(listener.Name, out Socket? socket) ? socket : null;
}
