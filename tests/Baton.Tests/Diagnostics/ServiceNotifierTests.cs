using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting.Systemd;
using Baton.Diagnostics;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Diagnostics;

/// <summary>
/// The sd_notify messages the reload and upgrade code sends, as the service manager reads them. The sending itself is
/// Microsoft.Extensions.Hosting.Systemd's, exercised end to end in ServiceNotifyTests; here the messages are kept as sent.
/// </summary>
public sealed class ServiceNotifierTests
{
    /// <summary>What the package would send, kept; <see cref="Failure"/> makes every send fail as a gone socket does.</summary>
    private sealed class KeptMessages : ISystemdNotifier
    {
        public List<string> Sent { get; } = [];
        public SocketException? Failure { get; set; }
        public bool IsEnabled => true;

        public void Notify(ServiceState state)
        {
            if (Failure is not null) throw Failure;
            Sent.Add(state.ToString());
        }
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, read by another program (python3's time.monotonic_ns).</summary>
    private static async Task<long> PythonMonotonicMicrosecondsAsync()
    {
        ProcessResult result = await ChildProcess.RunAsync("python3", ["-c", "import time; print(time.monotonic_ns() // 1000)"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return long.Parse(result.StandardOutput.Trim(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ReloadingCarriesTheMonotonicClockSystemdComparesWith()
    {
        var kept = new KeptMessages();
        var notifier = new ServiceNotifier(kept, new CollectingLogger());

        long before = await PythonMonotonicMicrosecondsAsync();
        notifier.Reloading("reloading /etc/baton/baton.json");
        long after = await PythonMonotonicMicrosecondsAsync();

        string[] lines = Assert.Single(kept.Sent).Split('\n');
        Assert.Equal("RELOADING=1", lines[0]);
        Assert.StartsWith("MONOTONIC_USEC=", lines[1]);
        long stamp = long.Parse(lines[1]["MONOTONIC_USEC=".Length..], CultureInfo.InvariantCulture);
        Assert.InRange(stamp, before, after);
        Assert.Equal("STATUS=reloading /etc/baton/baton.json", lines[2]);
    }

    [Fact]
    public void AStatusStaysOneAssignment()
    {
        var kept = new KeptMessages();
        var notifier = new ServiceNotifier(kept, new CollectingLogger());

        notifier.Ready("serving\nREADY=0\r\nSTOPPING=1");

        Assert.Equal("READY=1\nSTATUS=serving READY=0 STOPPING=1", Assert.Single(kept.Sent));
    }

    [Fact]
    public void AfterTheHandOverTheOldFrontSaysNothingMore()
    {
        var kept = new KeptMessages();
        var notifier = new ServiceNotifier(kept, new CollectingLogger());

        notifier.HandOver(4242, "upgraded");
        notifier.Stopping("stopping");
        notifier.Status("drained");

        Assert.Equal("MAINPID=4242\nSTATUS=upgraded", Assert.Single(kept.Sent));
    }

    [Fact]
    public void AMessageThatCannotBeSentIsLoggedNotThrown()
    {
        var kept = new KeptMessages { Failure = new SocketException((int)SocketError.ConnectionRefused) };
        var logger = new CollectingLogger();
        var notifier = new ServiceNotifier(kept, logger);

        notifier.Stopping("stopping");

        Assert.Contains(logger.Lines, l => l.Message.StartsWith("sd_notify STOPPING=1 not sent: ", StringComparison.Ordinal));
    }
}
