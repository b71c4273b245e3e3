namespace Baton.Tests.IO;

/// <summary>RLIMIT_NOFILE through the IO helper, on this test process.</summary>
public sealed class DescriptorLimitTests
{
    [Fact]
    public void RaisingPutsTheSoftLimitAtTheHardOne()
    {
        DescriptorLimit start = DescriptorLimit.Current;
        // One below the hard limit: harmless for the other tests running in this process, and undone below.
        var lowered = new Interop.Libc.RLimit { Current = (ulong)start.Hard - 1, Maximum = (ulong)start.Hard };
        Assert.Equal(0, Interop.Libc.SetRLimit(Interop.Libc.RLIMIT_NOFILE, lowered));
        Assert.Equal(start.Hard - 1, DescriptorLimit.Current.Soft);

        DescriptorLimit raised = DescriptorLimit.RaiseSoftToHard();

        Assert.Equal(new DescriptorLimit(start.Hard, start.Hard), raised);
        Assert.Equal(raised, DescriptorLimit.Current);
    }

    [Fact]
    public void RoomKeepsTheReserveFreeAndIsNeverNegative()
    {
        var limit = new DescriptorLimit(256, 1024);
        Assert.Equal(72, limit.Room(open: 120, reserve: 64));
        Assert.Equal(0, limit.Room(open: 250, reserve: 64));
        Assert.Equal("256 (hard 1024)", limit.ToString());
    }
}
