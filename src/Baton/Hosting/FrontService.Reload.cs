using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Front;
using Baton.Supervisor;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>Where the front's configuration comes from, read again on every reload: the file and the flags that override it.</summary>
internal sealed record FrontSource(string? ConfigFile, FrontOverrides Overrides);

/// <summary>What a reload did: applied (the new generation's number and what it could not change) or refused (every problem).</summary>
internal sealed record ReloadResult(bool Applied, int Generation, string Trigger, DateTimeOffset At, IReadOnlyList<string> Problems, IReadOnlyList<string> Notes);

/// <summary>
/// Reload (SIGHUP, `baton reload`): the configuration file and every certificate and ticket-key file are read and checked
/// again, with the checks of a start; anything wrong and nothing changes. Otherwise a new <see cref="FrontGeneration"/>
/// takes the new connections while the old one's finish on what they started with; listeners and pools are added and
/// removed; passthrough workers are sent the new certificates. What a running pool or the connection cap cannot change
/// is left as it runs and reported (docs/operating.md, "Reload").
/// </summary>
internal sealed partial class FrontService
{
    private readonly FrontSource _source;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    /// <summary>Removed pools draining and old certificates waiting for their generation's last connection; awaited on stop.</summary>
    private readonly List<Task> _retiring = [];
    private ReloadResult? _lastReload;
    private CertificateWatcher? _watcher;

    /// <summary>With Control:WatchCertificates, the certificate files of what is loaded now are watched from now on.</summary>
    private void WatchCertificates(BatonOptions options)
    {
        if (!options.Control.WatchCertificates)
            return;
        _watcher ??= new CertificateWatcher(changed =>
        {
            _logger.CertificateFileChanged(changed);
            RequestReload("certificate file changed");
        });
        _watcher.Watch(options);
    }

    /// <summary>SIGHUP: the same reload as `baton reload`, its outcome logged.</summary>
    public void RequestReload(string trigger)
    {
        // A signal or a file change may come as the front stops: then there is nothing left to reload.
        if (!_accepting.IsCancellationRequested)
            _ = ReloadAsync(trigger, _accepting.Token);
    }

    public async Task<ReloadResult> ReloadAsync(string trigger, CancellationToken cancellationToken)
    {
        try
        {
            await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return Refused(trigger, ["the front is stopping"]);
        }
        try
        {
            if (_accepting.IsCancellationRequested)
                return Refused(trigger, ["the front is stopping"]);
            if (_current is not FrontGeneration current)
                return Refused(trigger, ["the front is still starting"]);
            long started = Stopwatch.GetTimestamp();
            _logger.ReloadStarted(trigger);
            // systemd (Type=notify-reload) waits for READY=1 after RELOADING=1, whatever the outcome.
            _notifier?.Reloading($"reloading ({trigger})");
            ReloadResult result;
            try
            {
                result = await ApplyAsync(trigger, current, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _notifier?.Ready($"serving, generation {_current!.Number}");
            }
            if (result.Applied)
            {
                foreach (string note in result.Notes)
                    _logger.ReloadNote(trigger, note);
                _logger.ReloadDone(trigger, result.Generation, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, Summary(current, _current!));
                WatchCertificates(_current!.Options);
            }
            _lastReload = result;
            return result;
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private ReloadResult Refused(string trigger, IReadOnlyList<string> problems)
    {
        _logger.ReloadRefused(trigger, string.Join("; ", problems));
        return new ReloadResult(false, _current?.Number ?? 0, trigger, DateTimeOffset.UtcNow, problems, []);
    }

    private async Task<ReloadResult> ApplyAsync(string trigger, FrontGeneration current, CancellationToken cancellationToken)
    {
        (_, BatonOptions? options, IReadOnlyList<string> problems) = FrontConfiguration.Load(_source.ConfigFile, _source.Overrides);
        if (options is null)
            return Refused(trigger, problems);
        List<string> notes = ReloadPolicy.KeepRunning(current.Options, options, _pools, out List<string> deploys);
        // Checked again with the settings the running pools keep: routes must fit the pools as they run.
        problems = BatonOptionsValidator.Validate(options);
        if (problems.Count > 0)
            return Refused(trigger, problems);
        IReadOnlyList<(string Key, ClientCertificateOptions Options)> clientCertificates = ClientCertificatePolicies.From(options);
        bool keepCertificates = options.Certificates.Count == 0 && current.Options.Certificates.Count == 0
            && clientCertificates.Count == 0 && current.Certificates.ClientCertificates.Count == 0;
        // No certificate configured before or now: the one made in memory stays, rather than a new one on every reload.
        CertificateStore? certificates = keepCertificates ? current.Certificates
            : CertificateStore.Load(options.Certificates, DateTimeOffset.UtcNow, out problems, clientCertificates);
        if (certificates is null)
            return Refused(trigger, problems);
        if (ClientCertificateChangeProblem(current.Certificates, certificates) is string clientProblem)
        {
            if (!keepCertificates)
                certificates.Dispose();
            return Refused(trigger, [clientProblem]);
        }
        foreach (string warning in certificates.Warnings.Where(_ => !keepCertificates).Concat(BatonOptionsValidator.Warnings(options)))
            _logger.ConfigurationWarning(warning);

        var added = new List<AcceptingListener>();
        Dictionary<string, WorkerPool> newPools = [];
        FrontGeneration? next = null;
        LauncherState? replaced = null;
        try
        {
            BindAdded(options, added);
            var pools = new Dictionary<string, WorkerPool>(StringComparer.Ordinal);
            foreach ((string name, PoolOptions pool) in options.Pools)
                pools[name] = _pools.TryGetValue(name, out WorkerPool? running) ? running : newPools[name] = new WorkerPool(name, pool, _options.Limits, _launcher!, _metrics, _logger);
            next = CreateGeneration(current.Number + 1, options, certificates, pools, current);
            replaced = _launcher!.Update(options, certificates, next.TicketKeys);
            await StartAddedPoolsAsync(newPools.Values, cancellationToken).ConfigureAwait(false);
            await DeployAsync(deploys, options, trigger, notes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException or Interop.OpenSslException)
        {
            if (replaced is not null)
                _launcher!.Restore(replaced);
            await Task.WhenAll(newPools.Values.Select(pool => pool.StopAsync(_options.Limits.ShutdownTimeout))).ConfigureAwait(false);
            foreach (AcceptingListener listener in added)
                listener.Close();
            next?.Retire();
            if (!keepCertificates)
                certificates.Dispose();
            return Refused(trigger, [ex.Message]);
        }
        if (!keepCertificates)
        {
            await SendCertificatesAsync().ConfigureAwait(false);
            _metrics.ObserveCertificates(CertificateExpiries.Of(next.Certificates));
        }
        await SendRoutesAsync(options).ConfigureAwait(false);
        Commit(current, next, added);
        return new ReloadResult(true, next.Number, trigger, DateTimeOffset.UtcNow, [], notes);
    }

    /// <summary>
    /// Running passthrough workers verify client certificates with the settings (and CA and CRL files) they started with,
    /// numbered as then: a reload that changes them while such a worker runs is refused rather than left half-applied.
    /// </summary>
    private string? ClientCertificateChangeProblem(CertificateStore current, CertificateStore next)
    {
        static string Describe(ClientCertificateMaterial m) =>
            $"{m.Mode}/{m.VerifyDepth}/{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData([.. m.TrustedCaPem, .. m.CrlPem]))}";
        bool same = current.ClientCertificates.Select(Describe).SequenceEqual(next.ClientCertificates.Select(Describe));
        return same || !_pools.Values.Any(pool => pool.Mode == HandoffMode.Passthrough)
            ? null
            : $"{BatonOptions.SectionName}:ClientCertificates: the client-certificate settings or their CA/CRL files changed, and passthrough "
              + "workers verify with those they started with; restart the front to change them";
    }

    /// <summary>
    /// To the running workers of every passthrough pool (those this reload started already have them). A worker's queue
    /// may be full for a moment under load: it is given the ping's patience before it is restarted instead.
    /// </summary>
    private async Task SendCertificatesAsync()
    {
        byte[] update = _launcher!.EncodeCertificateUpdate();
        try
        {
            TimeSpan patience = _options.Limits.WorkerResponseTimeout / 5;
            await Task.WhenAll(_pools.Values.Select(pool => pool.ReplaceCertificatesAsync(update, patience))).ConfigureAwait(false);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(update);
        }
    }

    /// <summary>
    /// The reload's routes to the running workers of every handoff pool (those it started have them), so that the requests
    /// their gates and 421 filter route next follow the new routes; sent before the new generation takes connections.
    /// </summary>
    private async Task SendRoutesAsync(BatonOptions options)
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        int length = new RoutesUpdate { Routes = new RouteTable(options) }.WriteTo(body);
        TimeSpan patience = _options.Limits.WorkerResponseTimeout / 5;
        await Task.WhenAll(_pools.Values.Select(pool => pool.ReplaceRoutesAsync(body[..length], patience))).ConfigureAwait(false);
    }

    /// <summary>Past this point nothing can fail: the new generation takes over.</summary>
    private void Commit(FrontGeneration current, FrontGeneration next, List<AcceptingListener> added)
    {
        // Removed listeners stop accepting before the new generation (which has no settings for them) is current.
        List<AcceptingListener> removedListeners = [.. _listeners.Where(l => next.Listener(l.Key) is null)];
        foreach (AcceptingListener removed in removedListeners)
        {
            // After its accept loop ends (at once: it is cancelled), which takes the socket out of the front's loops first.
            _ = removed.CloseAsync();
            _logger.ListenerClosed(current.Listener(removed.Key)!.Name, removed.Key);
        }
        _current = next;
        // A new list rather than changes to the one `baton status` may be reading.
        _listeners = [.. _listeners.Except(removedListeners), .. added];
        foreach (AcceptingListener listener in added)
            listener.Start(AcceptLoopAsync(listener, _slots!));
        WorkerPool[] removedPools = [.. _pools.Values.Where(pool => !next.Pools.ContainsKey(pool.Name))];
        _pools = new Dictionary<string, WorkerPool>(next.Pools, StringComparer.Ordinal);
        foreach (WorkerPool pool in removedPools)
            _logger.PoolRemoved(pool.Name);
        lock (_retiring)
        {
            _retiring.RemoveAll(retired => retired.IsCompleted);
            _retiring.Add(RetireAsync(current, removedPools, disposeCertificates: !ReferenceEquals(current.Certificates, next.Certificates)));
        }
        current.Retire();
    }

    /// <summary>Once the old generation's last connection is handed off: its certificates are wiped and removed pools drain.</summary>
    private async Task RetireAsync(FrontGeneration old, WorkerPool[] removedPools, bool disposeCertificates)
    {
        await old.Drained.ConfigureAwait(false);
        if (disposeCertificates)
            old.Certificates.Dispose();
        await Task.WhenAll(removedPools.Select(pool => pool.StopAsync(_options.Limits.ShutdownTimeout))).ConfigureAwait(false);
    }

    /// <summary>Binds the listeners whose address no socket has yet; a failure names the listener's key.</summary>
    private void BindAdded(BatonOptions options, List<AcceptingListener> added)
    {
        for (int i = 0; i < options.Listeners.Count; i++)
        {
            ListenerOptions listener = options.Listeners[i];
            string key = FrontGeneration.ListenerKey(listener);
            if (_listeners.Any(l => l.Key == key) || added.Any(l => l.Key == key))
                continue;
            try
            {
                added.Add(new AcceptingListener(key, Bind(listener), _accepting.Token));
            }
            catch (InvalidOperationException ex)
            {
                throw new InvalidOperationException($"{BatonOptions.SectionName}:Listeners:{i}:Address: {ex.Message}", ex);
            }
        }
    }

    private async Task StartAddedPoolsAsync(IEnumerable<WorkerPool> pools, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.Limits.WorkerStartTimeout);
        foreach (WorkerPool pool in pools)
        {
            pool.Start();
            try
            {
                await pool.WaitReadyAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException(
                    $"{BatonOptions.SectionName}:Pools:{pool.Name}: its workers did not all report ready within {_options.Limits.WorkerStartTimeout}; the log lines above say why");
            }
        }
    }

    /// <summary>
    /// A new generation for each pool whose command, arguments, environment or worker count changed, one pool after the
    /// other, last in the reload: one that does not become ready refuses the reload (its old generation serves on; pools
    /// deployed before it keep their new generation, as a note in the refusal says).
    /// </summary>
    private async Task DeployAsync(List<string> deploys, BatonOptions options, string trigger, List<string> notes, CancellationToken cancellationToken)
    {
        var deployed = new List<string>();
        foreach (string name in deploys)
        {
            DeployResult result = await _pools[name].RestartAsync(options.Pools[name], trigger, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                string already = deployed.Count == 0 ? "" : $" (pools {string.Join(", ", deployed)} were deployed before it and keep their new generation)";
                throw new InvalidOperationException(
                    $"{BatonOptions.SectionName}:Pools:{name}: generation {result.Generation} did not become ready: {result.Failure}; generation {result.Previous} serves on{already}");
            }
            deployed.Add(name);
            notes.Add($"{BatonOptions.SectionName}:Pools:{name}: generation {result.Generation} deployed; generation {result.Previous} drains");
        }
    }

    /// <summary>
    /// The handler and TLS context for one load. A rotating ticket ring is handed on when the rotation settings stay, so
    /// tickets issued before a reload still resume; a key file is read again.
    /// </summary>
    private FrontGeneration CreateGeneration(
        int number, BatonOptions options, CertificateStore certificates, IReadOnlyDictionary<string, WorkerPool> pools, FrontGeneration? previous)
    {
        SessionTicketOptions tickets = options.SessionTickets;
        bool sameRotation = previous is { Options.SessionTickets: { KeyFile: null } was } && tickets.KeyFile is null
            && was.RotationInterval == tickets.RotationInterval && was.DecryptionWindow == tickets.DecryptionWindow;
        // The start's ring is the one its workers were launched with.
        TicketKeyRing ticketKeys = previous is null ? _launcher!.TicketKeys : sameRotation ? previous.TicketKeys : TicketKeyRing.For(tickets);
        // The access log's format is the generation's too: a reload may change it.
        var handler = new FrontConnectionHandler(
            options, pools, _poller, certificates, _slots!, _metrics, _logger, ticketKeys, AccessLog.Create(options.AccessLog, _loggerFactory));
        return new FrontGeneration(number, options, certificates, ticketKeys, pools, handler);
    }

    private string Summary(FrontGeneration previous, FrontGeneration next)
    {
        string Count(int now, int before) => now == before ? $"{now}" : $"{before} → {now}";
        return $"listeners {Count(next.Options.Listeners.Count, previous.Options.Listeners.Count)}, pools {Count(next.Pools.Count, previous.Pools.Count)}, "
            + $"certificates {(ReferenceEquals(next.Certificates, previous.Certificates) ? "kept" : $"{next.Certificates.Certificates.Count} loaded")}";
    }
}
