using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Baton.Hosting;

namespace Baton.Tests.Hosting;

/// <summary>The old front's end of an upgrade's readiness channel, on a real socketpair: what it takes as ready and what not.</summary>
public sealed class UpgradeChannelTests
{
    private const int Spawned = 4242;

    private static async Task<(int? Pid, string? Problem)> ReceiveAsync(params byte[][] messages)
    {
        (Socket ours, SafeFdHandle theirs) = UpgradeChannel.CreatePair();
        using (ours)
        {
            using (var newFront = new Socket(new SafeSocketHandle(theirs.DetachFd(), ownsHandle: true)))
            {
                foreach (byte[] message in messages)
                    newFront.Send(message);
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await UpgradeChannel.WaitForReadyAsync(ours, Spawned, deadline.Token);
        }
    }

    [Theory]
    [InlineData("READY=1\nMAINPID=77", 77)]
    [InlineData("READY=1", Spawned)]
    [InlineData("STATUS=starting\nREADY=1", Spawned)]
    public async Task ReadyIsTakenWithThePidItNames(string message, int pid)
    {
        Assert.Equal((pid, null), await ReceiveAsync(Encoding.ASCII.GetBytes(message)));
    }

    [Theory]
    [InlineData("", "exited")]
    [InlineData("STATUS=starting", "sent a message without READY=1")]
    [InlineData("READY=10", "sent a message without READY=1")]
    [InlineData("READY=1\nMAINPID=abc", "sent a malformed MAINPID=abc")]
    [InlineData("READY=1\nMAINPID=-5", "sent a malformed MAINPID=-5")]
    [InlineData("READY=1\nMAINPID=99999999999", "sent a malformed MAINPID=99999999999")]
    public async Task AnythingElseIsAProblem(string message, string problem)
    {
        // An empty message cannot be told from the end of the channel, and is taken as that.
        byte[][] messages = message.Length == 0 ? [] : [Encoding.ASCII.GetBytes(message)];
        Assert.Equal((null, problem), await ReceiveAsync(messages));
    }

    [Fact]
    public async Task AnOversizedMessageIsRefusedNotTruncatedIntoReady()
    {
        byte[] message = Encoding.ASCII.GetBytes("READY=1\n" + new string('x', UpgradeChannel.MaxMessageBytes));
        Assert.Equal((null, $"sent a message longer than {UpgradeChannel.MaxMessageBytes} bytes instead of READY=1"), await ReceiveAsync(message));
    }

    [Fact]
    public async Task SilenceEndsAtTheCallersDeadline()
    {
        (Socket ours, SafeFdHandle theirs) = UpgradeChannel.CreatePair();
        using (ours)
        using (theirs)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => UpgradeChannel.WaitForReadyAsync(ours, Spawned, deadline.Token));
        }
    }
}
