using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The Handback body is a Connection body (docs/channel.md): the worker describes the connection as it is now, and the
/// front re-dispatches the very same bytes with only the pool changed, so every bound and check of a Connection applies.
/// </summary>
internal sealed partial class ConnectionFacts
{
    /// <summary>
    /// Decodes a Handback body: a Connection body in handoff mode that names its listener (the front routes the carried
    /// request by it). <paramref name="tlsState"/> is the serialized session inside <paramref name="body"/>.
    /// </summary>
    internal static ConnectionFacts ReadHandback(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> tlsState)
    {
        ConnectionFacts facts = ReadFrom(body, out tlsState);
        string? problem = facts.Mode != HandoffMode.Handoff ? "a Handback carries a handoff session"
            : facts.Listener is null ? "a Handback names its listener"
            : null;
        if (problem is null) return facts;
        facts.Wipe();
        throw ChannelBodyReader.Invalid(problem);
    }

    /// <summary>
    /// Copies a valid Connection (or Handback) body field by field into <paramref name="destination"/> with the Pool
    /// field replaced by <paramref name="pool"/>; returns the new length. Fields this version does not know never
    /// get here: the body was decoded first, which refuses them.
    /// </summary>
    internal static int WithPool(ReadOnlySpan<byte> body, string pool, Span<byte> destination)
    {
        if (ChannelCodec.NameProblem(pool, nameof(Pool)) is string problem) throw new ArgumentException(problem);
        var reader = new ChannelBodyReader(body);
        var writer = new ChannelBodyWriter(destination);
        while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
        {
            if (tag == PoolTag) writer.WriteString(PoolTag, pool, Encoding.UTF8);
            else writer.WriteField(tag, value);
        }
        return writer.Written;
    }
}
