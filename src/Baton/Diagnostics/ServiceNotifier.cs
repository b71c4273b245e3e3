using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Baton.Diagnostics;

/// <summary>
/// The front's sd_notify(3) messages to its service manager (READY, RELOADING, STOPPING, STATUS, MAINPID), sent with
/// Microsoft.Extensions.Hosting.Systemd's <see cref="SystemdNotifier"/> to <c>$NOTIFY_SOCKET</c> (a path or, with a
/// leading '@', an abstract name). Without <c>NOTIFY_SOCKET</c> every call does nothing. A message that cannot be
/// sent is logged, never thrown: the service manager's trouble must not take the front down.
/// </summary>
internal sealed class ServiceNotifier
{
    private readonly ISystemdNotifier _systemd;
    private readonly ILogger _logger;
    private volatile bool _handedOver;

    public ServiceNotifier(ILoggerFactory loggerFactory)
        : this(new SystemdNotifier(), loggerFactory.CreateLogger("Baton.Front"))
    {
    }

    internal ServiceNotifier(ISystemdNotifier systemd, ILogger logger)
    {
        _systemd = systemd;
        _logger = logger;
    }

    /// <summary>Whether a service manager listens (NOTIFY_SOCKET was set at start).</summary>
    public bool IsEnabled => _systemd.IsEnabled;

    /// <summary>Start-up (or a reload) finished: Type=notify units become active on this.</summary>
    public void Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}");

    /// <summary>
    /// A reload starts (Type=notify-reload, systemd 253): RELOADING=1 with the CLOCK_MONOTONIC time in microseconds.
    /// Follow it with <see cref="Ready"/> when the reload is done, whether it changed anything or not.
    /// </summary>
    public void Reloading(string status) =>
        Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds().ToString(CultureInfo.InvariantCulture)}\nSTATUS={OneLine(status)}");

    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={OneLine(status)}");

    public void Status(string status) => Send($"STATUS={OneLine(status)}");

    /// <summary>
    /// A binary upgrade handed the service to <paramref name="pid"/>: from now on that process is the service's main
    /// process, and this one says nothing more (its STOPPING=1 would be taken as the service stopping).
    /// </summary>
    public void HandOver(int pid, string status)
    {
        Send($"MAINPID={pid.ToString(CultureInfo.InvariantCulture)}\nSTATUS={OneLine(status)}");
        _handedOver = true;
    }

    private void Send(string message)
    {
        if (_handedOver || !_systemd.IsEnabled)
            return;
        try
        {
            _systemd.Notify(new ServiceState(message));
        }
        catch (SocketException ex)
        {
            _logger.ServiceNotifyFailed(message[..message.IndexOf('\n', StringComparison.Ordinal)], ex.Message);
        }
    }

    /// <summary>sd_notify messages are newline-separated assignments: a status must not start another one.</summary>
    private static string OneLine(string status) => status.ReplaceLineEndings(" ");

    /// <summary>
    /// CLOCK_MONOTONIC in microseconds, the clock systemd compares MONOTONIC_USEC with. On Linux the Stopwatch
    /// timestamp is CLOCK_MONOTONIC in nanoseconds (frequency 10^9), so no clock_gettime binding is needed.
    /// </summary>
    private static long MonotonicMicroseconds() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);
}
