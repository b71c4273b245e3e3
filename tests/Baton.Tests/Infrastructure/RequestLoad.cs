using System.Collections.Concurrent;
using System.Diagnostics;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// Requests against a local Baton until stopped: loops on keep-alive connections (one HttpClient each) and loops that
/// open a new connection per request (Connection: close). Every failure is kept with when it happened; every worker
/// pid that answered is kept too, so a test can tell who served.
/// </summary>
public sealed class RequestLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<int, long> _servedBy = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _succeeded;
    private long _longestTicks;

    private RequestLoad(int port, int keepAliveLoops, int newConnectionLoops)
    {
        for (int i = 0; i < keepAliveLoops; i++)
            _loops.Add(Task.Run(() => LoopAsync(port, newConnections: false)));
        for (int i = 0; i < newConnectionLoops; i++)
            _loops.Add(Task.Run(() => LoopAsync(port, newConnections: true)));
    }

    public static RequestLoad Start(int port, int keepAliveLoops = 4, int newConnectionLoops = 2) => new(port, keepAliveLoops, newConnectionLoops);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public IReadOnlyList<string> Failures => [.. _failures];

    /// <summary>Worker pids that answered, with how many requests each.</summary>
    public IReadOnlyDictionary<int, long> ServedBy => _servedBy;

    /// <summary>The longest a successful request took.</summary>
    public TimeSpan Longest => TimeSpan.FromTicks(Interlocked.Read(ref _longestTicks));

    public Task WaitForSuccessesAsync(long count, TimeSpan? timeout = null) =>
        Wait.UntilAsync(() => Succeeded >= count || !_failures.IsEmpty, $"{count} requests have succeeded (failures stop the wait)", timeout ?? ChildProcess.DefaultTimeout);

    private async Task LoopAsync(int port, bool newConnections)
    {
        using HttpClient client = Clients.CreateHttpClient();
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{port}/");
            request.Headers.ConnectionClose = newConnections;
            long started = Stopwatch.GetTimestamp();
            try
            {
                using HttpResponseMessage response = await client.SendAsync(request, stop);
                string body = await response.Content.ReadAsStringAsync(stop);
                if (!response.IsSuccessStatusCode)
                {
                    _failures.Enqueue($"{_clock.Elapsed}: {(newConnections ? "new" : "keep-alive")}: HTTP {(int)response.StatusCode}: {body}");
                    continue;
                }
                _servedBy.AddOrUpdate(Clients.WorkerPid(body), 1, (_, n) => n + 1);
                Interlocked.Increment(ref _succeeded);
                long ticks = Stopwatch.GetElapsedTime(started).Ticks;
                long longest;
                while (ticks > (longest = Interlocked.Read(ref _longestTicks)) && Interlocked.CompareExchange(ref _longestTicks, ticks, longest) != longest) { }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                _failures.Enqueue($"{_clock.Elapsed}: {(newConnections ? "new" : "keep-alive")}: {ex.GetType().Name}: {ex.Message} {ex.InnerException?.Message}");
            }
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
