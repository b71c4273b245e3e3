namespace Baton.Inspection;

/// <summary>
/// Outcome of one call to an inspection parser. Parsers are stateless: the caller appends bytes to
/// one buffer and calls again with the whole buffer until the answer is not <see cref="NeedMoreData"/>.
/// </summary>
internal enum ParseStatus
{
    /// <summary>The bytes so far are a valid prefix; call again with more.</summary>
    NeedMoreData,

    /// <summary>Not this protocol, malformed, or over a limit; the parser's error enum says which.</summary>
    Invalid,

    /// <summary>Parsed; the result says how many bytes it covered.</summary>
    Complete,
}
