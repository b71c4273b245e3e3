using System.Collections;

namespace Baton.Channel;

/// <summary>
/// The environment a front gives each worker it spawns: with the channel itself, the whole contract between
/// the two processes before the first message.
/// </summary>
internal static class WorkerEnvironment
{
    /// <summary>The channel's descriptor number in the worker (always 3: placed there by a dup2 file action).</summary>
    public const string ChannelFdVariable = "BATON_CHANNEL_FD";

    /// <summary>The pool the worker belongs to, for its logs.</summary>
    public const string PoolVariable = "BATON_POOL";

    /// <summary>The user the worker switches to before it reads its channel; absent keeps the front's user.</summary>
    public const string UserVariable = "BATON_WORKER_USER";

    /// <summary>What a worker needs of the front's environment: the search path, the user and locale, the runtime's settings, OpenSSL's.</summary>
    private static readonly string[] InheritedNames =
        ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "OPENSSL_CONF", "OPENSSL_MODULES", "SSL_CERT_FILE", "SSL_CERT_DIR"];

    /// <summary>Prefixes of inherited variables: locale, .NET and ASP.NET Core settings, and log levels (not secret, and
    /// what an operator turning on Debug logging means for the workers too).</summary>
    private static readonly string[] InheritedPrefixes = ["LC_", "DOTNET_", "ASPNETCORE_", "Logging__"];

    /// <summary>
    /// The part of <paramref name="frontEnvironment"/> a worker inherits; the pool's own variables and this
    /// contract's come on top. Nothing else: the front may be configured through its environment
    /// (Baton__Certificates__0__KeyFile=...), and what a worker's /proc/PID/environ shows should be only its own.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> Inherited(IDictionary frontEnvironment)
    {
        foreach (DictionaryEntry entry in frontEnvironment)
        {
            string name = (string)entry.Key;
            if (InheritedNames.Contains(name, StringComparer.Ordinal) || InheritedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
                yield return new(name, (string?)entry.Value ?? "");
        }
    }
}
