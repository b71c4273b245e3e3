namespace Baton.Tests.Infrastructure;

/// <summary>Waits on conditions with generous deadlines; polling is fine here, fixed sleeps are not.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    public static async Task<T> ForAsync<T>(Func<T?> probe, string what, TimeSpan? timeout = null) where T : class
    {
        T? value = null;
        await UntilAsync(() => (value = probe()) is not null, what, timeout);
        return value!;
    }
}
