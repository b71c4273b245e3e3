using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Baton.Configuration;

/// <summary>
/// Checks a configuration section against the options type it is about to be bound to and reports every
/// problem once, with its key: unknown keys, values that do not parse, a value where a section belongs (or
/// the reverse), list keys that are not indices, null where the property cannot be null. The binder alone is
/// no guard: inside lists and dictionaries it drops an element that fails to convert without a word (a
/// misspelled pool Mode made the whole pool vanish), ignores a value where a list belongs, and with
/// ErrorOnUnknownConfiguration it stops at the first problem. Bind only once this reports nothing.
/// </summary>
internal static class ConfigurationChecker
{
    public static IReadOnlyList<string> Check(IConfigurationSection section, Type optionsType)
    {
        var problems = new List<string>();
        IConfigurationSection[] children = section.GetChildren().ToArray();
        if (children.Length == 0 && !string.IsNullOrEmpty(section.Value))
            problems.Add($"{section.Path}: expected {Expected(optionsType)}, found the value '{section.Value}'");
        CheckObject(section, children, optionsType, new NullabilityInfoContext(), problems);
        return problems;
    }

    /// <summary>One key whose type and nullability come from <paramref name="slot"/> (a property or a generic argument).</summary>
    private static void CheckSlot(IConfigurationSection section, NullabilityInfo slot, NullabilityInfoContext nullability, List<string> problems)
    {
        Type type = Nullable.GetUnderlyingType(slot.Type) ?? slot.Type;
        bool mayBeNull = slot.ReadState == NullabilityState.Nullable || type != slot.Type;
        IConfigurationSection[] children = section.GetChildren().ToArray();
        if (IsScalar(type))
        {
            if (children.Length > 0)
                problems.Add($"{section.Path}: expected {Expected(type)}, found a section ({string.Join(", ", children.Select(c => c.Key))})");
            else if (section.Value is null && !mayBeNull)
                problems.Add($"{section.Path}: expected {Expected(type)}, found null");
            else if (section.Value is not null && ValueProblem(section.Value, type) is string problem)
                problems.Add($"{section.Path}: {problem}");
            return;
        }
        if (children.Length == 0)
        {
            // JSON null and {} arrive as null, [] as "": the binder keeps what the options already hold.
            if (!string.IsNullOrEmpty(section.Value))
                problems.Add($"{section.Path}: expected {Expected(type)}, found the value '{section.Value}'");
            return;
        }
        if (IsGeneric(type, typeof(List<>)))
            CheckList(section, children, slot.GenericTypeArguments[0], nullability, problems);
        else if (IsGeneric(type, typeof(Dictionary<,>)))
        {
            foreach (IConfigurationSection child in children)
                CheckSlot(child, slot.GenericTypeArguments[1], nullability, problems);
        }
        else
            CheckObject(section, children, type, nullability, problems);
    }

    private static void CheckObject(
        IConfigurationSection section, IConfigurationSection[] children, Type type, NullabilityInfoContext nullability, List<string> problems)
    {
        PropertyInfo[] properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        foreach (IConfigurationSection child in children)
        {
            // Configuration keys are case-insensitive, and so is the binder.
            PropertyInfo? property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
                problems.Add($"{child.Path}: unknown key; {Suggest(child.Key, properties.Select(p => p.Name))}");
            else
                CheckSlot(child, nullability.Create(property), nullability, problems);
        }
    }

    private static void CheckList(
        IConfigurationSection section, IConfigurationSection[] children, NullabilityInfo element, NullabilityInfoContext nullability, List<string> problems)
    {
        var indices = new List<int>();
        foreach (IConfigurationSection child in children)
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                problems.Add($"{child.Path}: '{child.Key}' is not a list index (0, 1, 2, ...)");
                continue;
            }
            indices.Add(index);
            CheckSlot(child, element, nullability, problems);
        }
        // The binder appends elements in key order whatever the numbers are, so with a gap the validator's
        // messages would name other indices than the ones written.
        indices.Sort();
        if (indices.Where((index, position) => index != position).Any())
            problems.Add($"{section.Path}: list indices must count up from 0 without gaps (found {string.Join(", ", indices)})");
    }

    private static bool IsScalar(Type type) =>
        type == typeof(string) || type == typeof(bool) || type == typeof(int) || type == typeof(TimeSpan) || type.IsEnum;

    private static bool IsGeneric(Type type, Type definition) => type.IsGenericType && type.GetGenericTypeDefinition() == definition;

    /// <summary>Why <paramref name="value"/> does not convert to <paramref name="type"/> as the binder would convert it; null when it does.</summary>
    internal static string? ValueProblem(string value, Type type)
    {
        if (type == typeof(string))
            return null;
        if (type == typeof(bool))
            return bool.TryParse(value, out _) ? null : $"'{value}' is not true or false";
        if (type == typeof(int))
            return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : $"'{value}' is not a whole number";
        if (type == typeof(TimeSpan))
            return DurationProblem(value);
        if (type.IsEnum)
        {
            // Names only: the binder would also take numbers, even ones no member has.
            string[] names = Enum.GetNames(type);
            return names.Any(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase))
                ? null
                : $"'{value}' is not one of {string.Join(", ", names.Select(n => n.ToLowerInvariant()))}";
        }
        throw new NotSupportedException($"the configuration checker does not know type {type}");
    }

    private static string? DurationProblem(string value)
    {
        // TimeSpan reads a bare number as days: "5" would be five days, never what a timeout meant.
        if (value.Trim().All(char.IsAsciiDigit))
            return $"'{value}' would be read as {value.Trim()} days; write a duration such as 00:00:05 (5 seconds) or {value.Trim()}.00:00:00 (days)";
        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _)
            ? null
            : $"'{value}' is not a duration such as 00:00:05 (hours:minutes:seconds)";
    }

    private static string Expected(Type type)
    {
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int)) return "a whole number";
        if (type == typeof(TimeSpan)) return "a duration such as 00:00:05";
        if (type.IsEnum) return $"one of {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))}";
        if (IsGeneric(type, typeof(List<>))) return "a list";
        return "a section of settings";
    }

    /// <summary>"did you mean X?" when one known key is a typo away, else the keys this section takes.</summary>
    private static string Suggest(string key, IEnumerable<string> known)
    {
        string[] names = known.ToArray();
        string? close = names.MinBy(name => Distance(key.ToLowerInvariant(), name.ToLowerInvariant()));
        return close is not null && Distance(key.ToLowerInvariant(), close.ToLowerInvariant()) <= 2
            ? $"did you mean '{close}'?"
            : $"the keys here are {string.Join(", ", names)}";
    }

    /// <summary>Levenshtein distance, for typo suggestions.</summary>
    private static int Distance(string a, string b)
    {
        int[] previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int[] current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
