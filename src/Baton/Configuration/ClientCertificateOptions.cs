namespace Baton.Configuration;

/// <summary>Whether a connection is asked for a client certificate. Values are on the wire (a passthrough worker's settings).</summary>
internal enum ClientCertificateMode
{
    /// <summary>Not asked for one.</summary>
    None = 0,

    /// <summary>Asked; one that is sent must verify, and a client that sends none is served without.</summary>
    Optional = 1,

    /// <summary>Asked, and a client that sends none or one that does not verify fails the handshake.</summary>
    Required = 2,
}

/// <summary>
/// Client certificates (mTLS) of a listener, or of a route by ServerNames (which then wins over its listener's). The
/// certificate is asked for in the handshake, so a route by Host or path cannot have its own: the front reads the
/// request only after the handshake, and Baton never renegotiates nor asks after the handshake.
/// </summary>
internal sealed class ClientCertificateOptions
{
    public const int MaxVerifyDepth = 16;
    public const int DefaultVerifyDepth = 4;

    public ClientCertificateMode Mode { get; set; } = ClientCertificateMode.None;

    /// <summary>PEM files of the CAs a client certificate must chain to (roots, and intermediates the clients do not send).</summary>
    public List<string> TrustedCaFiles { get; set; } = [];

    /// <summary>The most intermediate certificates between the client's and a trusted CA (OpenSSL's verify depth).</summary>
    public int VerifyDepth { get; set; } = DefaultVerifyDepth;

    /// <summary>
    /// A PEM file of CRLs (one per CA that issues client certificates): a revoked certificate is refused, and so is one
    /// whose issuer has no CRL in the file. Null: revocation is not checked.
    /// </summary>
    public string? CrlFile { get; set; }
}

/// <summary>
/// The client-certificate settings in effect, numbered: listeners' first, then routes', in configuration order, each
/// with its key. Number 0 means "not asked"; a connection's number travels to a passthrough worker, which holds the
/// same list (the front and the worker number it the same way, from the same options).
/// </summary>
internal static class ClientCertificatePolicies
{
    /// <summary>The most distinct settings a front may have (they travel in one Configure message).</summary>
    public const int MaxPolicies = 32;

    public static IReadOnlyList<(string Key, ClientCertificateOptions Options)> From(BatonOptions options)
    {
        var policies = new List<(string, ClientCertificateOptions)>();
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            if (options.Listeners[i].ClientCertificates is { Mode: not ClientCertificateMode.None } listener)
                policies.Add(($"Listeners:{i}:ClientCertificates", listener));
        }
        for (int i = 0; i < options.Routes.Count; i++)
        {
            if (options.Routes[i].ClientCertificates is { Mode: not ClientCertificateMode.None } route)
                policies.Add(($"Routes:{i}:ClientCertificates", route));
        }
        return policies;
    }

    public static void Validate(BatonOptions options, Action<string, string> fail)
    {
        IReadOnlyList<(string Key, ClientCertificateOptions Options)> policies = From(options);
        if (policies.Count > MaxPolicies)
            fail("ClientCertificates", $"at most {MaxPolicies} listeners and routes may ask for client certificates (found {policies.Count})");
        for (int i = 0; i < options.Routes.Count; i++)
        {
            if (options.Routes[i] is { NeedsRequest: true, ClientCertificates: not null })
                fail($"Routes:{i}:ClientCertificates",
                    "a route by Host or path cannot ask for client certificates: they are asked for in the handshake, before the "
                    + "request is read, and Baton never renegotiates; set them on the listener or on a route by ServerNames (docs/tls-features.md)");
        }
        foreach ((string key, ClientCertificateOptions policy) in policies)
        {
            if (policy.TrustedCaFiles.Count == 0)
                fail($"{key}:TrustedCaFiles", $"mode {policy.Mode} needs at least one CA file to verify client certificates against");
            for (int f = 0; f < policy.TrustedCaFiles.Count; f++)
            {
                if (!File.Exists(policy.TrustedCaFiles[f]))
                    fail($"{key}:TrustedCaFiles:{f}", $"file '{policy.TrustedCaFiles[f]}' does not exist");
            }
            if (policy.CrlFile is not null && !File.Exists(policy.CrlFile))
                fail($"{key}:CrlFile", $"file '{policy.CrlFile}' does not exist");
            if (policy.VerifyDepth is < 1 or > ClientCertificateOptions.MaxVerifyDepth)
                fail($"{key}:VerifyDepth", $"must be between 1 and {ClientCertificateOptions.MaxVerifyDepth} (got {policy.VerifyDepth})");
        }
    }
}
