using System.Text;

namespace Baton.Configuration;

/// <summary>Where the front's control socket is (`baton status`, `baton reload`; docs/operating.md, "Control socket"), and what else triggers a reload.</summary>
internal sealed class ControlOptions
{
    /// <summary>
    /// sun_path holds 108 bytes with its terminating NUL, and the socket is first bound as "PATH.PID" (a pid has at most
    /// 7 digits) and then renamed into place (ControlServer.Listen says why).
    /// </summary>
    public const int MaxSocketPathBytes = 107 - 8;

    /// <summary>An absolute path; null: <see cref="DefaultSocketPath"/>, where a front that cannot listen goes on without one.</summary>
    public string? Socket { get; set; }

    /// <summary>systemd's RuntimeDirectory= when the front runs under it, else /run/baton.</summary>
    public static string DefaultSocketPath() =>
        Path.Combine(Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY") is { Length: > 0 } runtime
            // RuntimeDirectory= with several directories lists them all, separated by colons: the first is this unit's.
            ? runtime.Split(':')[0] : "/run/baton", "baton.sock");

    /// <summary>Reload when a certificate, key or ticket-key file changes (docs/operating.md, "Reload").</summary>
    public bool WatchCertificates { get; set; }

    public string EffectiveSocketPath => Socket ?? DefaultSocketPath();

    internal string? Problem()
    {
        if (Socket is null) return null;
        if (!Path.IsPathFullyQualified(Socket)) return $"'{Socket}' is not an absolute path";
        if (Encoding.UTF8.GetByteCount(Socket) > MaxSocketPathBytes) return $"'{Socket}' is longer than the {MaxSocketPathBytes} bytes a Unix socket path may have";
        return null;
    }
}
