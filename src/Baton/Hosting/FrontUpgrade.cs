using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.IO;
using Baton.Supervisor;

namespace Baton.Hosting;

/// <summary>What a binary upgrade came to: the new front's pid when it serves, else why this front keeps serving.</summary>
internal sealed record UpgradeResult(bool Succeeded, int? NewPid, string Reason);

/// <summary>
/// Binary upgrade without dropping a connection (SIGUSR2, as nginx): starts the front's program again — the same
/// executable path and command line, or another executable — with this front's listening sockets as fd 3, 4, … (named
/// in <c>LISTEN_FDNAMES</c>, as systemd passes them) and an <see cref="UpgradeChannel"/> after them. The new front binds
/// nothing, spawns its own workers and reports ready on the channel; then this front hands its service over (sd_notify
/// <c>MAINPID=</c>), stops accepting, hands off the connections it holds, lets its workers drain and exits. A new front
/// that exits or is not ready within the timeout is stopped, and this front serves on. See docs/lifecycle.md.
/// </summary>
internal sealed class FrontUpgrade
{
    private readonly FrontService _front;
    private readonly ServiceNotifier _notifier;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly TimeSpan _readyTimeout;
    private readonly TimeSpan _stopGrace;
    private readonly string _executable;
    private readonly string[] _arguments;
    private int _running;

    public FrontUpgrade(FrontService front, ServiceNotifier notifier, IHostApplicationLifetime lifetime, BatonOptions options, ILoggerFactory loggerFactory)
    {
        _front = front;
        _notifier = notifier;
        _lifetime = lifetime;
        _logger = loggerFactory.CreateLogger("Baton.Front");
        // The new front starts its runtime, reads its configuration and waits for all its workers, which may take WorkerStartTimeout.
        _readyTimeout = options.Limits.WorkerStartTimeout + TimeSpan.FromSeconds(30);
        _stopGrace = options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5);
        // Read at start: an upgrade replaces the file, and /proc/self/exe then reads "… (deleted)". The path is what runs again.
        _executable = Environment.ProcessPath ?? "/proc/self/exe";
        _arguments = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0')[1..];
    }

    /// <summary>
    /// Runs one upgrade to its end (ready, or failed and cleaned up). <paramref name="executable"/> replaces the path this
    /// front was started from; the arguments stay. Only one runs at a time, and not while the front starts or stops.
    /// </summary>
    public async Task<UpgradeResult> StartAsync(string? executable = null, CancellationToken cancellationToken = default)
    {
        if (!_front.IsServing || _lifetime.ApplicationStopping.IsCancellationRequested)
            return Refused("the front is not serving (starting or stopping)");
        if (Interlocked.Exchange(ref _running, 1) == 1)
            return Refused("an upgrade is already running");
        bool succeeded = false;
        try
        {
            UpgradeResult result = await RunAsync(executable ?? _executable, cancellationToken).ConfigureAwait(false);
            succeeded = result.Succeeded;
            return result;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or SocketException or IOException)
        {
            // No descriptors for the channel, a spawn that failed: this front has changed nothing and serves on.
            return Refused(ex.Message);
        }
        finally
        {
            // After a success this front is on its way out: a second upgrade would start a third front beside the second.
            if (!succeeded)
                Volatile.Write(ref _running, 0);
        }
    }

    private UpgradeResult Refused(string reason)
    {
        _logger.UpgradeFailed(reason);
        return new UpgradeResult(false, null, reason);
    }

    private async Task<UpgradeResult> RunAsync(string executable, CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Name, Socket Socket)> listeners = _front.ListeningSockets;
        // LISTEN_FDNAMES separates names with ':' (systemd allows none in a name either).
        if (listeners.FirstOrDefault(l => l.Name.Contains(':', StringComparison.Ordinal)) is { Name: string unpassable })
            return Refused($"listener '{unpassable}' has a ':' in its name, which LISTEN_FDNAMES cannot carry");
        string[] argv = [executable, .. _arguments];
        _logger.UpgradeStarting(listeners.Count, string.Join(' ', argv));
        long started = Stopwatch.GetTimestamp();
        (Socket ours, SafeFdHandle theirs) = UpgradeChannel.CreatePair();
        using (ours)
        {
            int pid;
            using (theirs)
                pid = ProcessSpawner.Spawn(argv, ChildEnvironment(listeners), [.. listeners.Select(l => (SafeHandle)l.Socket.SafeHandle), theirs], ownProcessGroup: false);
            (int? readyPid, string? problem) = await WaitAsync(ours, pid, cancellationToken).ConfigureAwait(false);
            if (readyPid is not int newPid)
            {
                string exit = await StopAsync(pid).ConfigureAwait(false);
                return Refused($"the new front pid={pid} {problem} ({exit}); its log lines above say why");
            }
            _notifier.HandOver(newPid, $"upgraded: front pid {newPid} serves; pid {System.Environment.ProcessId} drains");
            _logger.UpgradeSucceeded(newPid, Stopwatch.GetElapsedTime(started), System.Environment.ProcessId);
            _front.HandOffHeldConnectionsOnStop = true;
            _lifetime.StopApplication();
            return new UpgradeResult(true, newPid, $"front pid {newPid} serves; this front (pid {System.Environment.ProcessId}) drains and exits");
        }
    }

    private async Task<(int? Pid, string? Problem)> WaitAsync(Socket ours, int pid, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.ApplicationStopping);
        deadline.CancelAfter(_readyTimeout);
        try
        {
            return await UpgradeChannel.WaitForReadyAsync(ours, pid, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            string problem = _lifetime.ApplicationStopping.IsCancellationRequested ? "was not ready when this front began to stop"
                : cancellationToken.IsCancellationRequested ? "was not ready when the upgrade was called off"
                : $"was not ready within {_readyTimeout}";
            return (null, problem);
        }
    }

    /// <summary>
    /// Ends a new front that failed: SIGTERM (it drains its workers like any front), SIGKILL if it is still there after
    /// the shutdown timeout; its workers then exit as their channels close. Reaped here: it is this process's child.
    /// </summary>
    private async Task<string> StopAsync(int pid)
    {
        Interop.Libc.Kill(pid, Interop.Libc.SIGTERM);
        long deadline = Stopwatch.GetTimestamp() + (long)(_stopGrace.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            int reaped = Interop.Libc.WaitPid(pid, out int status, Interop.Libc.WNOHANG);
            if (reaped != 0)
                return reaped == pid ? WorkerExit.FromWaitStatus(status).ToString() : "already reaped";
            if (Stopwatch.GetTimestamp() > deadline)
            {
                Interop.Libc.Kill(pid, Interop.Libc.SIGKILL);
                Interop.Libc.WaitPid(pid, out status, 0);
                return $"killed after {_stopGrace}";
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
        }
    }

    /// <summary>This process's environment, without any earlier announcement, plus the sockets and the channel.</summary>
    private static List<string> ChildEnvironment(IReadOnlyList<(string Name, Socket Socket)> listeners)
    {
        string[] announced = [InheritedSockets.CountVariable, InheritedSockets.NamesVariable, InheritedSockets.PidVariable, UpgradeChannel.FdVariable];
        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (!announced.Contains((string)entry.Key, StringComparer.Ordinal))
                environment.Add($"{entry.Key}={entry.Value}");
        }
        int channelFd = ProcessSpawner.FirstInheritedFd + listeners.Count;
        environment.Add($"{InheritedSockets.CountVariable}={listeners.Count.ToString(CultureInfo.InvariantCulture)}");
        environment.Add($"{InheritedSockets.NamesVariable}={string.Join(':', listeners.Select(l => l.Name))}");
        environment.Add($"{UpgradeChannel.FdVariable}={channelFd.ToString(CultureInfo.InvariantCulture)}");
        return environment;
    }
}
