using System.Text;

namespace Baton.Configuration;

/// <summary>What an access log line can name: each is one <c>{name}</c> placeholder of the format.</summary>
internal enum AccessLogField
{
    Time,
    Connection,
    Client,
    ClientAddress,
    Listener,
    Sni,
    Alpn,
    TlsVersion,
    TlsCipher,
    Method,
    Path,
    Host,
    Pool,
    WorkerPid,
    Result,
    Reason,
    RequestBytes,
    DispatchMs,
    DurationMs,
}

/// <summary>
/// A parsed access log format: literal text and <c>{field}</c> placeholders (<c>{{</c> and <c>}}</c> for braces), as
/// message templates spell them. Parsed once at start, so a line is only filled in, never parsed again.
/// </summary>
internal sealed class AccessLogFormat
{
    /// <summary>Bounds the line a format can produce together with the per-field bound of the access log.</summary>
    public const int MaxLength = 1024;

    private static readonly Dictionary<string, AccessLogField> Names = new(StringComparer.Ordinal)
    {
        ["time"] = AccessLogField.Time,
        ["connection"] = AccessLogField.Connection,
        ["client"] = AccessLogField.Client,
        ["client_address"] = AccessLogField.ClientAddress,
        ["listener"] = AccessLogField.Listener,
        ["sni"] = AccessLogField.Sni,
        ["alpn"] = AccessLogField.Alpn,
        ["tls_version"] = AccessLogField.TlsVersion,
        ["tls_cipher"] = AccessLogField.TlsCipher,
        ["method"] = AccessLogField.Method,
        ["path"] = AccessLogField.Path,
        ["host"] = AccessLogField.Host,
        ["pool"] = AccessLogField.Pool,
        ["worker_pid"] = AccessLogField.WorkerPid,
        ["result"] = AccessLogField.Result,
        ["reason"] = AccessLogField.Reason,
        ["request_bytes"] = AccessLogField.RequestBytes,
        ["dispatch_ms"] = AccessLogField.DispatchMs,
        ["duration_ms"] = AccessLogField.DurationMs,
    };

    private AccessLogFormat(string text, IReadOnlyList<Segment> segments, IReadOnlyList<AccessLogField> fields)
    {
        Text = text;
        Segments = segments;
        Fields = fields;
        FieldNamesInOrder = fields.Select(field => Names.First(pair => pair.Value == field).Key).ToArray();
    }

    /// <summary>The format as configured.</summary>
    public string Text { get; }

    /// <summary>In order: literal text (Literal set) or a field.</summary>
    public IReadOnlyList<Segment> Segments { get; }

    /// <summary>The fields the format names, each once, in the order they first appear.</summary>
    public IReadOnlyList<AccessLogField> Fields { get; }

    /// <summary>The names of <see cref="Fields"/>, as written in the format.</summary>
    public IReadOnlyList<string> FieldNamesInOrder { get; }

    public static IEnumerable<string> FieldNames => Names.Keys;

    /// <summary>One piece of the format: <see cref="Literal"/> text, or (when it is null) the field at <see cref="FieldIndex"/> of <see cref="Fields"/>.</summary>
    public readonly record struct Segment(string? Literal, int FieldIndex);

    /// <summary>The parsed format, or null with what is wrong with it.</summary>
    public static AccessLogFormat? Parse(string text, out string? problem)
    {
        problem = text.Length > MaxLength ? $"is {text.Length} characters long; at most {MaxLength}" : null;
        var segments = new List<Segment>();
        var fields = new List<AccessLogField>();
        var literal = new StringBuilder();
        for (int i = 0; problem is null && i < text.Length; i++)
        {
            char c = text[i];
            if ((c == '{' || c == '}') && i + 1 < text.Length && text[i + 1] == c)
            {
                literal.Append(c);
                i++;
            }
            else if (c == '}')
                problem = $"has a '}}' at {i} that closes nothing (write '}}}}' for a brace)";
            else if (c != '{')
                literal.Append(c);
            else
            {
                int close = text.IndexOf('}', i + 1);
                string name = close < 0 ? text[(i + 1)..] : text[(i + 1)..close];
                if (close < 0)
                    problem = $"has a '{{' at {i} that is never closed (write '{{{{' for a brace)";
                else if (!Names.TryGetValue(name, out AccessLogField field))
                    problem = $"names an unknown field '{{{name}}}'; the fields are {string.Join(", ", Names.Keys)}";
                else
                {
                    if (literal.Length > 0)
                        segments.Add(new Segment(literal.ToString(), -1));
                    literal.Clear();
                    if (!fields.Contains(field))
                        fields.Add(field);
                    segments.Add(new Segment(null, fields.IndexOf(field)));
                    i = close;
                }
            }
        }
        if (problem is not null)
            return null;
        if (literal.Length > 0)
            segments.Add(new Segment(literal.ToString(), -1));
        return new AccessLogFormat(text, segments, fields);
    }
}
