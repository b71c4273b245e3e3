using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Inspection;
using Baton.IO;

namespace Baton.Relay;

/// <summary>No backend of the pool took the connection; the message says what each attempt met.</summary>
internal sealed class BackendUnavailableException(string message) : Exception(message);

/// <summary>
/// A relay worker's backends and what it knows of their health. Connections go round the backends that are up; one
/// that refuses or does not answer within the connect timeout is marked down and skipped while another is up, and
/// probed (a connection opened and closed, with a PROXY v2 LOCAL header when the pool sends PROXY headers) after a
/// backoff that doubles from 1 s to <see cref="RelaySettings.MaxRetryBackoff"/>; the first probe or connection that
/// gets through marks it up. With every backend down, connections still try them all, the soonest due first, so a
/// backend that came back is found without waiting for its probe. Each worker keeps its own view.
/// </summary>
internal sealed class BackendSet : IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    private readonly Backend[] _backends;
    private readonly RelaySettings _settings;
    private readonly ILogger _logger;
    private readonly ReadinessLoop _loop;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();
    private int _next;

    /// <param name="loop">Where the backend connections wait: the relay worker's loop, with its client connections.</param>
    public BackendSet(RelaySettings settings, ILogger logger, ReadinessLoop loop)
    {
        _settings = settings;
        _logger = logger;
        _loop = loop;
        _backends = settings.Backends.Select(text =>
        {
            BackendAddress.TryParse(text, out EndPoint? endPoint);
            return new Backend(endPoint!, BackendAddress.Describe(endPoint!));
        }).ToArray();
    }

    /// <summary>A connected backend socket and the backend's name for log lines.</summary>
    public readonly record struct Connected(HandedOffSocket Socket, string Name);

    /// <summary>Connects to the next backend that answers; throws <see cref="BackendUnavailableException"/> when none does.</summary>
    public async Task<Connected> ConnectAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (Backend backend in Candidates())
        {
            try
            {
                HandedOffSocket socket = await OpenAsync(backend.EndPoint, cancellationToken).ConfigureAwait(false);
                MarkUp(backend);
                return new Connected(socket, backend.Name);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                failures.Add($"{backend.Name}: {ex.Message}");
                MarkDown(backend, ex.Message);
            }
        }
        throw new BackendUnavailableException($"no backend answered ({string.Join("; ", failures)})");
    }

    /// <summary>The backends that are up, round-robin from the next one; none up: every backend, the soonest due first.</summary>
    private Backend[] Candidates()
    {
        lock (_gate)
        {
            int start = _next;
            _next = (_next + 1) % _backends.Length;
            Backend[] rotated = [.. _backends.Skip(start), .. _backends.Take(start)];
            Backend[] up = rotated.Where(b => !b.Down).ToArray();
            return up.Length > 0 ? up : [.. rotated.OrderBy(b => b.RetryAt)];
        }
    }

    /// <summary>One attempt, bounded by the connect timeout (the name, if any, resolved as part of it).</summary>
    private async Task<HandedOffSocket> OpenAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.ConnectTimeout);
        try
        {
            return await HandedOffSocket.ConnectAsync(endPoint, _loop, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no connection within {_settings.ConnectTimeout}");
        }
    }

    private void MarkUp(Backend backend)
    {
        lock (_gate)
        {
            if (!backend.Down)
                return;
            backend.Down = false;
            backend.Backoff = TimeSpan.Zero;
        }
        _logger.BackendUp(Environment.ProcessId, backend.Name);
    }

    /// <summary>Marks it down (or, already down, doubles its backoff) and schedules its probe; one line per transition.</summary>
    private void MarkDown(Backend backend, string reason)
    {
        TimeSpan backoff;
        bool wasDown;
        lock (_gate)
        {
            wasDown = backend.Down;
            backend.Down = true;
            backend.Backoff = backend.Backoff == TimeSpan.Zero ? FirstBackoff
                : TimeSpan.FromTicks(Math.Min(backend.Backoff.Ticks * 2, _settings.MaxRetryBackoff.Ticks));
            backoff = backend.Backoff;
            backend.RetryAt = Environment.TickCount64 + (long)backoff.TotalMilliseconds;
            if (backend.Probing)
                return;
            backend.Probing = true;
        }
        if (!wasDown)
            _logger.BackendDown(Environment.ProcessId, backend.Name, reason, backoff);
        _ = ProbeAsync(backend, backoff);
    }

    /// <summary>Tries a down backend after its backoff until one attempt (probe or connection) gets through.</summary>
    private async Task ProbeAsync(Backend backend, TimeSpan wait)
    {
        try
        {
            while (true)
            {
                await Task.Delay(wait, _disposed.Token).ConfigureAwait(false);
                lock (_gate)
                {
                    if (!backend.Down)
                        return;
                }
                try
                {
                    using HandedOffSocket socket = await OpenAsync(backend.EndPoint, _disposed.Token).ConfigureAwait(false);
                    if (_settings.SendProxyProtocol)
                        await SendLocalHeaderAsync(socket).ConfigureAwait(false);
                    MarkUp(backend);
                    return;
                }
                catch (Exception ex) when (ex is SocketException or TimeoutException)
                {
                    lock (_gate)
                    {
                        backend.Backoff = TimeSpan.FromTicks(Math.Min(backend.Backoff.Ticks * 2, _settings.MaxRetryBackoff.Ticks));
                        backend.RetryAt = Environment.TickCount64 + (long)backend.Backoff.TotalMilliseconds;
                        wait = backend.Backoff;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The worker is stopping.
        }
        finally
        {
            lock (_gate)
                backend.Probing = false;
        }
    }

    /// <summary>"This is the proxy itself" (LOCAL): a backend that requires the header does not count the probe as a client.</summary>
    private static async Task SendLocalHeaderAsync(HandedOffSocket socket)
    {
        byte[] header = new byte[ProxyV2Format.FixedLength];
        ProxyV2Writer.WriteLocal(header);
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.WriteAsync(header, bounded.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // It accepted the connection: that is what the probe asks.
        }
    }

    /// <summary>Stops the probes. The token source is not disposed: a probe between two awaits still reads its token.</summary>
    public void Dispose() => _disposed.Cancel();

    private sealed class Backend(EndPoint endPoint, string name)
    {
        public EndPoint EndPoint { get; } = endPoint;
        public string Name { get; } = name;
        public bool Down { get; set; }
        public bool Probing { get; set; }
        public TimeSpan Backoff { get; set; }
        /// <summary>Environment.TickCount64 when its next probe is due.</summary>
        public long RetryAt { get; set; }
    }
}
