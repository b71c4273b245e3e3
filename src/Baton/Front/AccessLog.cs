using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Baton.Configuration;

namespace Baton.Front;

/// <summary>
/// The access log: one line per connection the front handed off or gave up on, at Information in the
/// <see cref="Category"/> category, laid out by the configured <see cref="AccessLogFormat"/>. The line's fields are
/// also the log entry's state, so a JSON console formatter writes each as its own property. Every text field is
/// bounded to <see cref="MaxFieldLength"/> characters and escaped to printable ASCII without spaces or quotes:
/// what a client sent (SNI, Host, path) cannot forge or break a line.
/// </summary>
internal sealed class AccessLog
{
    public const string Category = "Baton.Access";
    public const int MaxFieldLength = 256;
    private static readonly EventId Event = new(140, "Access");

    private readonly AccessLogFormat _format;
    private readonly ILogger _logger;

    public AccessLog(AccessLogFormat format, ILogger logger)
    {
        _format = format;
        _logger = logger;
    }

    /// <summary>The access log the options ask for; null when it is off (validation has checked the format).</summary>
    public static AccessLog? Create(AccessLogOptions options, ILoggerFactory loggerFactory) =>
        options.Enabled ? new AccessLog(AccessLogFormat.Parse(options.Format, out _)!, loggerFactory.CreateLogger(Category)) : null;

    /// <summary>A record for a connection just accepted; null when nothing would be written, so nothing is collected.</summary>
    public ConnectionRecord? Begin(ulong id, string listener, System.Net.IPEndPoint? client) =>
        _logger.IsEnabled(LogLevel.Information) ? new ConnectionRecord(id, listener, client) : null;

    public void Write(ConnectionRecord record)
    {
        var entry = new Entry(_format, Values(record));
        _logger.Log(LogLevel.Information, Event, entry, null, static (entry, _) => entry.ToString());
    }

    private object?[] Values(ConnectionRecord record)
    {
        TimeSpan duration = Stopwatch.GetElapsedTime(record.AcceptedTimestamp);
        var values = new object?[_format.Fields.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = _format.Fields[i] switch
            {
                AccessLogField.Time => record.AcceptedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                AccessLogField.Connection => record.Id,
                AccessLogField.Client => Bounded(record.Client?.ToString()),
                AccessLogField.ClientAddress => Bounded(record.Client?.Address.ToString()),
                AccessLogField.Listener => Bounded(record.Listener),
                AccessLogField.Sni => Bounded(record.ServerName),
                AccessLogField.Alpn => Bounded(record.Alpn),
                AccessLogField.TlsVersion => record.TlsVersion,
                AccessLogField.TlsCipher => record.TlsCipher,
                AccessLogField.Method => Bounded(record.Request?.Method),
                AccessLogField.Path => Bounded(record.Request?.Path),
                AccessLogField.Host => Bounded(record.Request?.Host),
                AccessLogField.Pool => Bounded(record.Pool),
                AccessLogField.WorkerPid => record.WorkerPid,
                AccessLogField.Result => record.Result,
                AccessLogField.Reason => record.Reason,
                AccessLogField.RequestBytes => record.RequestBytes,
                AccessLogField.DispatchMs => record.Dispatch is TimeSpan dispatch ? Math.Round(dispatch.TotalMilliseconds, 3) : null,
                AccessLogField.DurationMs => Math.Round(duration.TotalMilliseconds, 3),
                _ => null,
            };
        }
        return values;
    }

    /// <summary>At most <see cref="MaxFieldLength"/> characters of printable ASCII: others, space, quote and backslash as \xHH.</summary>
    internal static string? Bounded(string? value)
    {
        if (value is null)
            return null;
        var text = new StringBuilder(Math.Min(value.Length, MaxFieldLength));
        foreach (Rune rune in value.EnumerateRunes())
        {
            string piece = rune.Value is > ' ' and < 0x7f and not '"' and not '\\'
                ? ((char)rune.Value).ToString()
                : rune.Value <= 0xff ? $"\\x{rune.Value:x2}" : $"\\u{{{rune.Value:x}}}";
            if (text.Length + piece.Length > MaxFieldLength - 3)
                return text.Append("...").ToString();
            text.Append(piece);
        }
        return text.ToString();
    }

    /// <summary>The logged state: the fields by name (as structured logging providers read state), and the line as text.</summary>
    private sealed class Entry(AccessLogFormat format, object?[] values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => values.Length + 1;

        public KeyValuePair<string, object?> this[int index] => index < values.Length
            ? new(format.FieldNamesInOrder[index], values[index])
            : new("{OriginalFormat}", format.Text);

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (int i = 0; i < Count; i++)
                yield return this[i];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString()
        {
            var line = new StringBuilder();
            foreach (AccessLogFormat.Segment segment in format.Segments)
            {
                if (segment.Literal is not null)
                    line.Append(segment.Literal);
                else
                    line.Append(Text(values[segment.FieldIndex]));
            }
            return line.ToString();
        }

        private static string Text(object? value) => value switch
        {
            null => "-",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "-",
        };
    }
}
