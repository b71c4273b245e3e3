using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Baton.Diagnostics;

namespace Baton.Tls;

/// <summary>
/// Where a certificate's OCSP response comes from: a file the operator (or a cron job) refreshes, reread when it changes
/// (the front), or the bytes the front read (a passthrough worker, which may not be able to read the file).
/// </summary>
internal sealed record OcspResponseSource(string? File, byte[]? Response);

/// <summary>
/// The OCSP response one certificate staples, as libssl's status callback asks for it (inside handshakes): the last good
/// response, while it is within its validity window. A file is looked at again (its modification time and length, a
/// stat) at most every <see cref="RecheckInterval"/>, and reread and checked when they changed. A response that expires,
/// or a new one that does not check, stops the stapling with one warning per change; a good one is logged once.
/// </summary>
internal sealed class OcspStaple
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private readonly LoadedCertificate _certificate;
    private readonly string? _file;
    private readonly string _name;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private byte[]? _response;
    private DateTimeOffset _nextUpdate;
    private long _nextLook;
    private (DateTime Written, long Length) _seen;
    private bool _looked;
    private string? _lastProblem;

    public OcspStaple(LoadedCertificate certificate, string name, OcspResponseSource source, ILogger? logger)
    {
        _certificate = certificate;
        _file = source.File;
        _name = name;
        _logger = logger ?? NullLogger.Instance;
        if (source.Response is byte[] response)
            Accept(response, "the front");
        else
            LookAtFile();
    }

    /// <summary>The response to staple now, or null (none, not good, expired). A copy: libssl takes ownership of what it staples.</summary>
    public byte[]? Current()
    {
        lock (_gate)
        {
            if (_file is not null && Stopwatch.GetTimestamp() >= _nextLook)
                LookAtFile();
            if (_response is not null && DateTimeOffset.UtcNow >= _nextUpdate)
            {
                _response = null;
                Refuse($"it expired at {_nextUpdate:u}; refresh {_file ?? "the file"}");
            }
            return _response?.ToArray();
        }
    }

    private void LookAtFile()
    {
        _nextLook = Stopwatch.GetTimestamp() + (long)(RecheckInterval.TotalSeconds * Stopwatch.Frequency);
        var info = new FileInfo(_file!);
        (DateTime, long) seen = info.Exists ? (info.LastWriteTimeUtc, info.Length) : default;
        // Unchanged since the last look: what was decided then still holds (expiry is checked at every staple).
        if (_looked && seen == _seen) return;
        _looked = true;
        _seen = seen;
        if (!info.Exists)
        {
            _response = null;
            Refuse($"cannot read '{_file}': it does not exist");
            return;
        }
        if (info.Length > OcspResponseCheck.MaxResponseLength)
        {
            _response = null;
            Refuse($"'{_file}' is {info.Length} bytes, more than the {OcspResponseCheck.MaxResponseLength} of a response");
            return;
        }
        try
        {
            Accept(File.ReadAllBytes(_file!), _file!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _response = null;
            Refuse($"cannot read '{_file}': {ex.Message}");
        }
    }

    private void Accept(byte[] response, string from)
    {
        OcspVerdict verdict = OcspResponseCheck.Check(response, _certificate);
        if (!verdict.CanStaple)
        {
            _response = null;
            Refuse(verdict.Problem!);
            return;
        }
        _response = response;
        _nextUpdate = verdict.NextUpdate;
        _lastProblem = null;
        _logger.OcspStapled(_name, from, verdict.NextUpdate.ToString("u"));
    }

    private void Refuse(string problem)
    {
        if (problem == _lastProblem) return;
        _lastProblem = problem;
        _logger.OcspNotStapled(_name, problem);
    }
}
