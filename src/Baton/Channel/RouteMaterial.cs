using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The routes a handoff worker applies to the later requests of its connections (handback), in the Configure body:
/// a list of items, each a TLV record: 1 Listener (string), 2 ServerNames (list of strings), 3 Hosts (list of strings),
/// 4 PathPrefix (string, up to 4 KiB), 5 Pool (string, required). Every pattern list holds at most
/// <see cref="MaxPatterns"/>; at most <see cref="MaxRoutes"/> routes.
/// </summary>
internal static class RouteMaterial
{
    public const int MaxRoutes = 1024;
    public const int MaxPatterns = 256;
    public const int MaxPathPrefixBytes = 4096;

    private const byte ListenerTag = 1, ServerNamesTag = 2, HostsTag = 3, PathPrefixTag = 4, PoolTag = 5;

    public static void Write(ref ChannelBodyWriter writer, byte tag, IReadOnlyList<RouteOptions> routes)
    {
        int fieldOffset = writer.BeginField(tag);
        foreach (RouteOptions route in routes)
        {
            int itemOffset = writer.BeginItem();
            if (route.Listener is not null) writer.WriteString(ListenerTag, route.Listener, Encoding.UTF8);
            if (route.ServerNames.Count > 0) WriteNames(ref writer, ServerNamesTag, route.ServerNames);
            if (route.Hosts.Count > 0) WriteNames(ref writer, HostsTag, route.Hosts);
            if (route.PathPrefix is not null) writer.WriteString(PathPrefixTag, route.PathPrefix, Encoding.UTF8);
            writer.WriteString(PoolTag, route.Pool, Encoding.UTF8);
            writer.EndItem(itemOffset);
        }
        writer.EndField(fieldOffset);
    }

    public static List<RouteOptions> Read(ReadOnlySpan<byte> value)
    {
        var routes = new List<RouteOptions>();
        var items = new ChannelListReader(value, MaxRoutes, "Routes");
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            routes.Add(ReadRoute(item));
        return routes;
    }

    /// <summary>Sender-side checks: the bounds the reader enforces.</summary>
    public static string? Problem(IReadOnlyList<RouteOptions> routes)
    {
        if (routes.Count > MaxRoutes) return $"more than {MaxRoutes} routes";
        foreach (RouteOptions route in routes)
        {
            if ((ChannelCodec.NameProblem(route.Pool, "Routes:Pool") ?? ChannelCodec.NameProblem(route.Listener, "Routes:Listener")) is string problem)
                return problem;
            if (route.Pool.Length == 0) return "Routes:Pool is required";
            if (route.ServerNames.Count > MaxPatterns || route.Hosts.Count > MaxPatterns) return $"a route has more than {MaxPatterns} patterns";
            if (route.ServerNames.Concat(route.Hosts).Select(n => ChannelCodec.NameProblem(n, "Routes:pattern")).FirstOrDefault(p => p is not null) is string patternProblem)
                return patternProblem;
            if (route.PathPrefix is not null && Encoding.UTF8.GetByteCount(route.PathPrefix) is 0 or > MaxPathPrefixBytes)
                return $"Routes:PathPrefix must be 1..{MaxPathPrefixBytes} UTF-8 bytes";
        }
        return null;
    }

    private static RouteOptions ReadRoute(ReadOnlySpan<byte> item)
    {
        var route = new RouteOptions();
        var reader = new ChannelBodyReader(item);
        while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
        {
            switch (tag)
            {
                case ListenerTag: route.Listener = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, "Routes:Listener"); break;
                case ServerNamesTag: route.ServerNames = ReadNames(value, "Routes:ServerNames"); break;
                case HostsTag: route.Hosts = ReadNames(value, "Routes:Hosts"); break;
                case PathPrefixTag: route.PathPrefix = ChannelBodyReader.ReadString(value, MaxPathPrefixBytes, "Routes:PathPrefix"); break;
                case PoolTag: route.Pool = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, "Routes:Pool"); break;
                default: throw ChannelBodyReader.UnknownField(tag);
            }
        }
        reader.Require(PoolTag, "Routes:Pool");
        return route;
    }

    private static void WriteNames(ref ChannelBodyWriter writer, byte tag, List<string> names)
    {
        int offset = writer.BeginField(tag);
        foreach (string name in names)
            writer.WriteStringItem(name, Encoding.UTF8);
        writer.EndField(offset);
    }

    private static List<string> ReadNames(ReadOnlySpan<byte> value, string name)
    {
        var names = new List<string>();
        var items = new ChannelListReader(value, MaxPatterns, name);
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            names.Add(ChannelBodyReader.ReadString(item, ChannelCodec.MaxNameBytes, name));
        return names;
    }
}
