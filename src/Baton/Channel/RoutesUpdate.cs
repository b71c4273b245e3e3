using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The Routes body (message type 14): the front's routes a handoff worker's gates and 421 filter use from now on, sent
/// on reload. The same two fields as in the Configure body (<see cref="WorkerSettings"/> tags 20 and 21), both
/// required, checked as strictly; unknown tags refused.
/// </summary>
internal sealed class RoutesUpdate
{
    public required RouteTable Routes { get; init; }

    internal int WriteTo(Span<byte> destination)
    {
        if (Problem(Routes) is string problem)
            throw new ArgumentException(problem);
        var writer = new ChannelBodyWriter(destination);
        RouteMaterial.Write(ref writer, WorkerSettings.RoutesTag, Routes.Routes);
        writer.WriteString(WorkerSettings.DefaultPoolTag, Routes.DefaultPool, System.Text.Encoding.UTF8);
        return writer.Written;
    }

    internal static RoutesUpdate ReadFrom(ReadOnlySpan<byte> body)
    {
        IReadOnlyList<RouteOptions>? routes = null;
        string? defaultPool = null;
        var reader = new ChannelBodyReader(body);
        while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
        {
            switch (tag)
            {
                case WorkerSettings.RoutesTag: routes = RouteMaterial.Read(value); break;
                case WorkerSettings.DefaultPoolTag: defaultPool = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, "DefaultPool"); break;
                default: throw ChannelBodyReader.UnknownField(tag);
            }
        }
        reader.Require(WorkerSettings.RoutesTag, nameof(Routes));
        reader.Require(WorkerSettings.DefaultPoolTag, nameof(RouteTable.DefaultPool));
        var table = new RouteTable(routes!, defaultPool!);
        if (Problem(table) is string problem)
            throw ChannelBodyReader.Invalid(problem);
        return new RoutesUpdate { Routes = table };
    }

    private static string? Problem(RouteTable routes) =>
        RouteMaterial.Problem(routes.Routes) ?? ChannelCodec.NameProblem(routes.DefaultPool, "DefaultPool");
}
