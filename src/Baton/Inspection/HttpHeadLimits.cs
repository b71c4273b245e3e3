namespace Baton.Inspection;

/// <summary>Bounds for <see cref="HttpRequestHeadParser"/>.</summary>
internal sealed class HttpHeadLimits
{
    public const int DefaultMaxHeadBytes = 32 * 1024;
    public const int DefaultMaxHeaderCount = 100;

    public static HttpHeadLimits Default { get; } = new();

    /// <summary>Largest head, request line through the final CRLFCRLF.</summary>
    public int MaxHeadBytes { get; init; } = DefaultMaxHeadBytes;

    /// <summary>Largest number of field lines.</summary>
    public int MaxHeaderCount { get; init; } = DefaultMaxHeaderCount;
}
