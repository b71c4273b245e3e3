using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Hosting.Control;
using Baton.Supervisor;

namespace Baton.Hosting;

/// <summary>The front's control socket and its commands (docs/operating.md, "Control socket"): one entry per command.</summary>
internal sealed partial class FrontService
{
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private ControlServer? _control;

    private IReadOnlyDictionary<string, ControlCommand> Commands() => new Dictionary<string, ControlCommand>(StringComparer.Ordinal)
    {
        ["status"] = (_, _) => Task.FromResult<JsonNode?>(Status()),
        ["reload"] = ReloadCommandAsync,
        ["upgrade"] = UpgradeCommandAsync,
        ["restart"] = RestartCommandAsync,
    };

    private FrontUpgrade? _upgrade;

    /// <summary>The binary upgrade `baton upgrade` runs (the same as SIGUSR2); it needs this front, so it is given after both exist.</summary>
    public void UseUpgrade(FrontUpgrade upgrade) => _upgrade = upgrade;

    private async Task<JsonNode?> UpgradeCommandAsync(JsonObject request, CancellationToken cancellationToken)
    {
        if (_upgrade is null)
            throw new ControlReplyException("upgrade refused", ["this front cannot upgrade"]);
        UpgradeResult result = await _upgrade.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new ControlReplyException("upgrade refused, this front serves on", [result.Reason]);
        return new JsonObject { ["newPid"] = result.NewPid, ["oldPid"] = Environment.ProcessId, ["reason"] = result.Reason };
    }

    /// <summary>
    /// Listens before the workers start, so a second front configured onto this front's socket stops at once. The
    /// default path is best effort (a front run by hand as another user may not create /run/baton): without it the
    /// front runs with a warning; a configured path that cannot be used stops the start.
    /// </summary>
    private void StartControl()
    {
        ControlOptions control = _options.Control;
        try
        {
            // After a binary upgrade the old front's socket becomes this one's in one rename.
            _control = ControlServer.Listen(control.EffectiveSocketPath, Commands(), _logger, takeOverFrom: _startedBy?.Upgrade?.ParentPid);
            _logger.ControlListening(_control.Path);
        }
        catch (ControlException ex) when (control.Socket is null)
        {
            _logger.ControlUnavailable(ex.Message);
        }
        catch (ControlException ex)
        {
            throw new InvalidOperationException($"{BatonOptions.SectionName}:Control:Socket: {ex.Message}", ex);
        }
    }

    private async Task StopControlAsync()
    {
        if (_control is not null)
            await _control.DisposeAsync().ConfigureAwait(false);
        _control = null;
    }

    private async Task<JsonNode?> ReloadCommandAsync(JsonObject request, CancellationToken cancellationToken)
    {
        ReloadResult result = await ReloadAsync("baton reload", cancellationToken).ConfigureAwait(false);
        if (!result.Applied)
            throw new ControlReplyException("reload refused, nothing changed", result.Problems);
        return ToJson(result);
    }

    /// <summary>`baton restart POOL`: a new generation of the pool's workers with the settings it runs (the binary at its path is read again).</summary>
    private async Task<JsonNode?> RestartCommandAsync(JsonObject request, CancellationToken cancellationToken)
    {
        string? name = request["pool"] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
        // Under the reload's gate: a reload does not remove or replace the pool while its generation changes.
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (name is null || !_pools.TryGetValue(name, out WorkerPool? pool))
                throw new ControlReplyException("restart refused", [$"no pool named '{name}'; the pools are: {string.Join(", ", _pools.Keys)}"]);
            DeployResult result = await pool.RestartAsync(pool.Options, "baton restart", cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
                throw new ControlReplyException($"restart of pool '{name}' failed, generation {result.Previous} serves on", [result.Failure!]);
            return new JsonObject { ["pool"] = name, ["deploy"] = ToJson(result), ["pids"] = new JsonArray([.. pool.ServingWorkers.Select(w => JsonValue.Create(w.Pid))]) };
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private static JsonObject ToJson(DeployResult result) => new()
    {
        ["succeeded"] = result.Succeeded,
        ["generation"] = result.Generation,
        ["previous"] = result.Previous,
        ["trigger"] = result.Trigger,
        ["at"] = result.At,
        ["failure"] = result.Failure,
    };

    private static JsonObject ToJson(ReloadResult result) => new()
    {
        ["applied"] = result.Applied,
        ["generation"] = result.Generation,
        ["trigger"] = result.Trigger,
        ["at"] = result.At,
        ["problems"] = Strings(result.Problems),
        ["notes"] = Strings(result.Notes),
    };

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => JsonValue.Create(v))]);

    /// <summary>`baton status`: what the front runs now. Read without locks: each figure is as of its own moment.</summary>
    private JsonObject Status()
    {
        FrontGeneration? generation = _current;
        var status = new JsonObject
        {
            ["pid"] = Environment.ProcessId,
            ["startedAt"] = _startedAt,
            ["state"] = _accepting.IsCancellationRequested ? "stopping" : generation is null ? "starting" : "serving",
            ["generation"] = generation?.Number ?? 0,
            ["connections"] = new JsonObject { ["inFront"] = Volatile.Read(ref _inFront), ["cap"] = _slots?.Capacity ?? 0 },
            ["listeners"] = new JsonArray([.. _listeners.ToArray().Select(l => ListenerStatus(l, generation))]),
            ["pools"] = new JsonArray([.. _pools.Values.Select(PoolStatus)]),
            ["certificates"] = new JsonArray([.. (generation?.Certificates.Certificates ?? []).Select(CertificateStatus)]),
        };
        if (_lastReload is ReloadResult reload)
            status["lastReload"] = ToJson(reload);
        return status;
    }

    private static JsonObject ListenerStatus(AcceptingListener listener, FrontGeneration? generation)
    {
        ListenerOptions? options = generation?.Listener(listener.Key);
        string address;
        try
        {
            address = listener.Socket.LocalEndPoint?.ToString() ?? listener.Key;
        }
        catch (ObjectDisposedException)
        {
            address = listener.Key;
        }
        return new JsonObject
        {
            ["name"] = options?.Name,
            ["address"] = address,
            ["proxyProtocol"] = options?.ProxyProtocol ?? false,
        };
    }

    private static JsonObject PoolStatus(WorkerPool pool)
    {
        var status = new JsonObject
        {
            ["name"] = pool.Name,
            ["mode"] = pool.Mode.ToString().ToLowerInvariant(),
            ["workers"] = pool.Options.Workers,
            ["generation"] = pool.Generation,
            ["running"] = WorkersStatus(pool.ServingWorkers),
            ["draining"] = WorkersStatus(pool.DrainingWorkers),
        };
        if (pool.LastDeploy is DeployResult deploy)
            status["lastDeploy"] = ToJson(deploy);
        return status;
    }

    private static JsonArray WorkersStatus(IEnumerable<WorkerProcess> workers) => new([.. workers.Select(worker => new JsonObject
    {
        ["pid"] = worker.Pid,
        ["ready"] = worker.IsReady,
        ["connections"] = worker.Outstanding,
        ["startedAt"] = new DateTimeOffset(worker.StartedAt, TimeSpan.Zero),
    })]);

    private static JsonObject CertificateStatus(CertificateMaterial certificate)
    {
        using X509Certificate2 leaf = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(certificate.CertificateChainPem));
        DateTimeOffset notAfter = new(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        return new JsonObject
        {
            ["serverNames"] = Strings(certificate.ServerNames),
            ["subject"] = leaf.Subject,
            ["serial"] = leaf.SerialNumber,
            ["notAfter"] = notAfter,
            ["expiresInDays"] = Math.Floor((notAfter - DateTimeOffset.UtcNow).TotalDays),
        };
    }
}
