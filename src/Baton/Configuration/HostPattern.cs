namespace Baton.Configuration;

/// <summary>
/// Host-name patterns used by routes and certificates: an exact name, or "*.example.com",
/// which matches exactly one more label ("a.example.com", not "example.com" or "a.b.example.com").
/// </summary>
internal static class HostPattern
{
    public static bool IsValid(string pattern)
    {
        string name = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
        return name.Length is > 0 and <= 253
            && name.Split('.').All(label => label.Length is > 0 and <= 63 && label.All(IsHostChar));
    }

    public static bool Matches(string pattern, string host)
    {
        if (!pattern.StartsWith("*.", StringComparison.Ordinal))
            return string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
        int dot = host.IndexOf('.');
        return dot > 0 && pattern.AsSpan(1).Equals(host.AsSpan(dot), StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsHostChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
