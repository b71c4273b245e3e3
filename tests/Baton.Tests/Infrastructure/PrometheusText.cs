using System.Globalization;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// A strict reader of the Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats):
/// every line is a HELP, a TYPE, another comment or a sample; names and label names have their grammar, label values
/// their three escapes, values are floats (with NaN and ±Inf), timestamps integers. A family's TYPE comes once and
/// before its samples, its samples are contiguous, no series repeats, counters end in _total and histograms have
/// cumulative buckets ending in +Inf whose count is the family's _count. Anything else throws <see cref="FormatException"/>.
/// </summary>
public sealed class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private PrometheusText(List<PrometheusSample> samples, Dictionary<string, string> types)
    {
        Samples = samples;
        TypesByFamily = types;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    public IReadOnlyDictionary<string, string> TypesByFamily { get; }

    /// <summary>The sum of <paramref name="name"/>'s samples whose labels include all of <paramref name="labels"/> ("key=value").</summary>
    public double Sum(string name, params string[] labels) => Matching(name, labels).Sum(s => s.Value);

    public IEnumerable<PrometheusSample> Matching(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l[..l.IndexOf('=')], out string? v) && v == l[(l.IndexOf('=') + 1)..]));

    public static PrometheusText Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
            throw new FormatException("the exposition does not end with a line feed");
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new HashSet<string>(StringComparer.Ordinal);
        var finishedFamilies = new HashSet<string>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        string? currentFamily = null;
        string[] lines = text.Split('\n')[..^1];
        for (int number = 1; number <= lines.Length; number++)
        {
            string line = lines[number - 1];
            try
            {
                if (line.Length == 0)
                    continue;
                if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', 4);
                    string family = CheckName(parts.Length > 2 ? parts[2] : "");
                    if (parts[1] == "TYPE")
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3]))
                            throw new FormatException($"TYPE of {family} is not one of {string.Join(", ", Types)}");
                        if (!types.TryAdd(family, parts[3]))
                            throw new FormatException($"a second TYPE for {family}");
                        if (samples.Any(s => FamilyOf(s.Name, types) == family))
                            throw new FormatException($"TYPE of {family} after its samples");
                    }
                    else if (!help.Add(family))
                        throw new FormatException($"a second HELP for {family}");
                    continue;
                }
                if (line.StartsWith('#'))
                    continue;
                PrometheusSample sample = ParseSample(line);
                string familyName = FamilyOf(sample.Name, types);
                if (familyName != currentFamily)
                {
                    if (currentFamily is not null)
                        finishedFamilies.Add(currentFamily);
                    if (finishedFamilies.Contains(familyName))
                        throw new FormatException($"the samples of {familyName} are not contiguous");
                    currentFamily = familyName;
                }
                string key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
                if (!series.Add(key))
                    throw new FormatException($"the series {key} appears twice");
                samples.Add(sample);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"line {number}: {ex.Message}: {line}", ex);
            }
        }
        CheckFamilies(samples, types);
        return new PrometheusText(samples, types);
    }

    /// <summary>The family a sample belongs to: a histogram's _bucket, _sum and _count belong to the histogram.</summary>
    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.GetValueOrDefault(name[..^suffix.Length]) is "histogram" or "summary")
                return name[..^suffix.Length];
        }
        return name;
    }

    private static void CheckFamilies(List<PrometheusSample> samples, Dictionary<string, string> types)
    {
        foreach ((string family, string type) in types)
        {
            if (type == "counter" && !family.EndsWith("_total", StringComparison.Ordinal))
                throw new FormatException($"counter {family} does not end in _total");
            if (type != "histogram")
                continue;
            foreach (var group in samples.Where(s => s.Name == family + "_bucket").GroupBy(s => LabelsWithout(s, "le")))
            {
                PrometheusSample[] buckets = group.ToArray();
                double[] bounds = buckets.Select(b => ParseValue(b.Labels["le"])).ToArray();
                if (!double.IsPositiveInfinity(bounds[^1]) || bounds.Zip(bounds.Skip(1)).Any(p => p.First >= p.Second))
                    throw new FormatException($"histogram {family}{{{group.Key}}}: le bounds do not rise to +Inf");
                if (buckets.Zip(buckets.Skip(1)).Any(p => p.First.Value > p.Second.Value))
                    throw new FormatException($"histogram {family}{{{group.Key}}}: buckets are not cumulative");
                PrometheusSample? count = samples.SingleOrDefault(s => s.Name == family + "_count" && LabelsWithout(s, "") == group.Key);
                if (count is null || count.Value != buckets[^1].Value || !samples.Any(s => s.Name == family + "_sum" && LabelsWithout(s, "") == group.Key))
                    throw new FormatException($"histogram {family}{{{group.Key}}}: _count is not the +Inf bucket, or _sum is missing");
            }
        }
    }

    private static string LabelsWithout(PrometheusSample sample, string label) =>
        string.Join(",", sample.Labels.Where(l => l.Key != label).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static PrometheusSample ParseSample(string line)
    {
        int position = 0;
        string name = CheckName(ReadWhile(line, ref position, c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'));
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (position < line.Length && line[position] == '{')
        {
            position++;
            while (line[position] != '}')
            {
                string label = ReadWhile(line, ref position, c => char.IsAsciiLetterOrDigit(c) || c == '_');
                if (label.Length == 0 || char.IsAsciiDigit(label[0]) || line[position] != '=' || line[position + 1] != '"')
                    throw new FormatException("a label is not name=\"value\"");
                position += 2;
                if (!labels.TryAdd(label, ReadLabelValue(line, ref position)))
                    throw new FormatException($"label {label} twice");
                if (line[position] == ',')
                    position++;
                else if (line[position] != '}')
                    throw new FormatException("labels are not separated by commas");
            }
            position++;
        }
        if (position >= line.Length || line[position] != ' ')
            throw new FormatException("no space before the value");
        string[] rest = line[(position + 1)..].Split(' ');
        if (rest.Length > 2 || (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            throw new FormatException("after the value only a timestamp (integer milliseconds) may follow");
        return new PrometheusSample(name, labels, ParseValue(rest[0]));
    }

    private static string ReadLabelValue(string line, ref int position)
    {
        var value = new StringBuilder();
        while (line[position] != '"')
        {
            if (line[position] == '\\')
            {
                position++;
                value.Append(line[position] switch
                {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    _ => throw new FormatException($"unknown escape \\{line[position]} in a label value"),
                });
            }
            else
                value.Append(line[position]);
            position++;
        }
        position++;
        return value.ToString();
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value
            : throw new FormatException($"'{text}' is not a float"),
    };

    private static string CheckName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':')
            ? name
            : throw new FormatException($"'{name}' is not a metric name");

    private static string ReadWhile(string line, ref int position, Func<char, bool> accept)
    {
        int start = position;
        while (position < line.Length && accept(line[position]))
            position++;
        return line[start..position];
    }
}

public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
