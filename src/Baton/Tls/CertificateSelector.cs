namespace Baton.Tls;

/// <summary>
/// Maps an SNI host name to a certificate: exact names first, then "*.suffix" wildcards covering exactly one
/// label. When several certificates claim a name the earlier one wins. Lookups do not allocate.
/// </summary>
internal sealed class CertificateSelector
{
    private const int MaxHostNameLength = 255;

    private readonly Dictionary<string, LoadedCertificate> _exact = new(StringComparer.OrdinalIgnoreCase);
    // Keyed by the suffix including its leading dot: "*.example.com" is stored as ".example.com".
    private readonly Dictionary<string, LoadedCertificate> _wildcards = new(StringComparer.OrdinalIgnoreCase);

    internal void Add(string pattern, LoadedCertificate certificate)
    {
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            string suffix = pattern[1..];
            ValidateName(suffix[1..], pattern);
            _wildcards.TryAdd(suffix, certificate);
        }
        else
        {
            ValidateName(pattern, pattern);
            _exact.TryAdd(pattern, certificate);
        }
    }

    /// <summary>The certificate for an SNI name as sent on the wire (ASCII, A-labels), or null.</summary>
    internal LoadedCertificate? Find(ReadOnlySpan<byte> hostName)
    {
        if (hostName.IsEmpty || hostName.Length > MaxHostNameLength) return null;
        Span<char> name = stackalloc char[hostName.Length];
        for (int i = 0; i < hostName.Length; i++)
        {
            if (hostName[i] > 0x7F) return null;
            name[i] = (char)hostName[i];
        }
        if (_exact.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out LoadedCertificate? exact)) return exact;
        int dot = name.IndexOf('.');
        if (dot > 0 && _wildcards.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name[dot..], out LoadedCertificate? wildcard))
        {
            return wildcard;
        }
        return null;
    }

    private static void ValidateName(string name, string pattern)
    {
        bool valid = name.Length is > 0 and <= MaxHostNameLength
            && !name.StartsWith('.') && !name.EndsWith('.') && !name.Contains("..", StringComparison.Ordinal)
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
        if (!valid)
        {
            throw new ArgumentException($"Invalid server name pattern '{pattern}': use 'host.example.com' or '*.example.com' (ASCII, A-labels).");
        }
    }
}
