using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Baton.Inspection;

/// <summary>
/// The request path as the worker's Kestrel hands it to the application (<c>HttpRequest.Path</c>), so that a
/// route's PathPrefix decides on the path the application will serve, not on the bytes of the request line.
/// Origin-form, as Kestrel: every <c>%XX</c> is decoded once except <c>%2F</c>, which stays as the three
/// characters (Kestrel keeps it, so <c>/api%2Fx</c> is one segment to both), then dot segments are removed
/// (RFC 3986 5.2.4); <c>//</c> and backslashes are ordinary characters to both. Stricter than Kestrel where its
/// answer would not be one path: <c>%00</c> (Kestrel answers 400 too) and percent-encoded bytes that are not
/// UTF-8 (Kestrel leaves each such sequence encoded) are refused. Absolute-form targets Kestrel reads with
/// <see cref="Uri.LocalPath"/>, which decodes <c>%2F</c> and <c>%00</c> and removes dot segments before decoding:
/// such a target is accepted only when that reading and the origin-form one agree.
/// </summary>
internal static class RequestPath
{
    private const int StackLimit = 512;

    /// <summary>
    /// The path the application sees, or null for targets without one (authority and asterisk forms).
    /// <paramref name="rawPath"/> is the target's path without query, checked by <see cref="HttpSyntax.IsPath"/>.
    /// False when the path cannot be normalized safely (the front answers 400).
    /// </summary>
    public static bool TryNormalize(TargetForm form, string target, string? rawPath, out string? path)
    {
        path = null;
        if (form is TargetForm.Authority or TargetForm.Asterisk || rawPath is null)
            return true;
        path = NormalizeOriginForm(rawPath);
        if (path is null || form == TargetForm.Origin)
            return path is not null;
        bool agrees = Uri.TryCreate(target, UriKind.Absolute, out Uri? uri) && uri.LocalPath == path;
        if (!agrees)
            path = null;
        return agrees;
    }

    /// <summary>Kestrel's origin-form reading of <paramref name="raw"/> (ASCII, starting with '/'); null when refused.</summary>
    private static string? NormalizeOriginForm(string raw)
    {
        if (!raw.Contains('%') && !raw.Contains("/.", StringComparison.Ordinal))
            return raw;
        byte[]? rented = raw.Length > StackLimit ? ArrayPool<byte>.Shared.Rent(raw.Length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[StackLimit];
        try
        {
            int length = Decode(raw, buffer);
            if (length < 0 || !Utf8.IsValid(buffer.Slice(0, length)))
                return null;
            length = RemoveDotSegments(buffer.Slice(0, length));
            return Encoding.UTF8.GetString(buffer.Slice(0, length));
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes every %XX but %2F into <paramref name="output"/>; -1 on %00. The escapes are well formed (IsPath).</summary>
    private static int Decode(string raw, Span<byte> output)
    {
        int written = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '%')
            {
                output[written++] = (byte)raw[i];
                continue;
            }
            int value = (HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]);
            if (value == 0)
                return -1;
            if (value == '/')
            {
                // Kept encoded as Kestrel keeps it: the '%' here, its two digits (the client's spelling) as they come.
                output[written++] = (byte)'%';
                continue;
            }
            output[written++] = (byte)value;
            i += 2;
        }
        return written;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>
    /// RFC 3986 5.2.4 in place on a path that starts with '/', segment by segment: "." is dropped, ".." drops
    /// the segment before it (never above the root), a dot segment at the end leaves the trailing '/'.
    /// </summary>
    internal static int RemoveDotSegments(Span<byte> path)
    {
        int written = 0;
        int read = 0;
        while (read < path.Length)
        {
            int next = path.Slice(read + 1).IndexOf((byte)'/');
            next = next < 0 ? path.Length : read + 1 + next;
            ReadOnlySpan<byte> segment = path.Slice(read + 1, next - read - 1);
            bool parent = segment.SequenceEqual(".."u8);
            if (parent || segment.SequenceEqual("."u8))
            {
                if (parent)
                    written = Math.Max(0, path.Slice(0, written).LastIndexOf((byte)'/'));
                if (next == path.Length)
                    path[written++] = (byte)'/';
            }
            else
            {
                // Never ahead of read, so the copy only moves bytes towards the start.
                path.Slice(read, next - read).CopyTo(path.Slice(written));
                written += next - read;
            }
            read = next;
        }
        return written;
    }
}
