using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Tests.Front;

/// <summary>The front's connection cap from its descriptor limit, and the pressure rule that shortens waits before the handoff.</summary>
public sealed class ConnectionSlotsTests
{
    private static readonly TimeSpan Pressure = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Configured = TimeSpan.FromSeconds(5);

    [Fact]
    public void TheConfiguredCapHoldsWhenTheDescriptorLimitLeavesMoreRoom() =>
        Assert.Equal(10_000, ConnectionSlots.CapFor(10_000, new DescriptorLimit(524_288, 524_288), open: 120, workers: 2));

    [Fact]
    public void ALowDescriptorLimitLowersTheCapAndKeepsTheReserveFree()
    {
        // 256 − 120 open − 64 for the runtime − 3 for each of two workers.
        Assert.Equal(66, ConnectionSlots.CapFor(10_000, new DescriptorLimit(256, 256), open: 120, workers: 2));
        Assert.Equal(DescriptorLimit.RuntimeReserve + 2 * ConnectionSlots.DescriptorsPerWorkerRestart, ConnectionSlots.Reserve(2));
    }

    [Fact]
    public void NoRoomAtAllIsACapOfZero() =>
        Assert.Equal(0, ConnectionSlots.CapFor(10_000, new DescriptorLimit(128, 128), open: 120, workers: 2));

    [Fact]
    public async Task PressureStartsAtEightyPercentAndEndsUnderFifty()
    {
        using var slots = new ConnectionSlots(10, Pressure, NullLogger.Instance);
        for (int i = 0; i < 7; i++)
            await slots.AcquireAsync(CancellationToken.None);
        Assert.Equal(Configured, slots.Bound(Configured));

        await slots.AcquireAsync(CancellationToken.None);
        Assert.True(slots.UnderPressure);
        Assert.Equal(Pressure, slots.Bound(Configured));
        // A timeout already shorter than the pressure timeout is kept.
        Assert.Equal(TimeSpan.FromMilliseconds(300), slots.Bound(TimeSpan.FromMilliseconds(300)));

        for (int i = 0; i < 3; i++)
            slots.Release();
        Assert.Equal(Pressure, slots.Bound(Configured)); // 5 of 10 held: still inside the episode
        slots.Release();
        Assert.False(slots.UnderPressure);
        Assert.Equal(Configured, slots.Bound(Configured));
    }

    [Fact]
    public async Task AtTheCapTheNextAcquireWaitsForARelease()
    {
        using var slots = new ConnectionSlots(2, Pressure, NullLogger.Instance);
        await slots.AcquireAsync(CancellationToken.None);
        await slots.AcquireAsync(CancellationToken.None);

        Task third = slots.AcquireAsync(CancellationToken.None);
        Assert.False(third.IsCompleted);
        slots.Release();
        await third.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, slots.Held);
    }
}
