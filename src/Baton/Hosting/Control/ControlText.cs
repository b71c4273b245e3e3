using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Baton.Hosting.Control;

/// <summary>A control reply as an operator reads it; `--json` prints the reply itself for scripts.</summary>
internal static class ControlText
{
    public static string Format(string command, JsonNode? result) => command switch
    {
        "status" when result is JsonObject status => Status(status),
        "reload" when result is JsonObject reload => Reload(reload),
        "restart" when result is JsonObject restart =>
            $"restarted: pool {restart["pool"]} generation {restart["deploy"]?["generation"]} serves (pids {string.Join(", ", restart["pids"] as JsonArray ?? [])}); "
            + $"generation {restart["deploy"]?["previous"]} drains\n",
        "upgrade" when result is JsonObject upgrade =>
            $"upgraded: front pid {upgrade["newPid"]} serves; pid {upgrade["oldPid"]} stops accepting and drains\n",
        _ => $"{result?.ToJsonString() ?? "done"}\n",
    };

    private static string Reload(JsonObject reload)
    {
        var text = new StringBuilder($"reloaded: generation {reload["generation"]} serves new connections\n");
        foreach (JsonNode? note in reload["notes"] as JsonArray ?? [])
            text.Append(CultureInfo.InvariantCulture, $"note: {note}\n");
        return text.ToString();
    }

    private static string Status(JsonObject status)
    {
        var text = new StringBuilder();
        JsonObject connections = status["connections"]!.AsObject();
        text.Append(CultureInfo.InvariantCulture,
            $"front pid {status["pid"]}: {status["state"]}, generation {status["generation"]}, started {status["startedAt"]}\n");
        text.Append(CultureInfo.InvariantCulture, $"connections in the front: {connections["inFront"]} (cap {connections["cap"]})\n");
        text.Append("listeners:\n");
        foreach (JsonNode? listener in status["listeners"] as JsonArray ?? [])
            text.Append(CultureInfo.InvariantCulture,
                $"  {listener!["name"]}  {listener["address"]}{((bool?)listener["proxyProtocol"] == true ? "  PROXY protocol" : "")}\n");
        text.Append("pools:\n");
        foreach (JsonNode? pool in status["pools"] as JsonArray ?? [])
        {
            JsonArray running = pool!["running"] as JsonArray ?? [];
            JsonArray draining = pool["draining"] as JsonArray ?? [];
            text.Append(CultureInfo.InvariantCulture,
                $"  {pool["name"]}  {pool["mode"]}, generation {pool["generation"]}, {running.Count} of {pool["workers"]} workers running"
                + $"{(draining.Count > 0 ? $", {draining.Count} draining" : "")}\n");
            foreach (JsonNode? worker in running.Concat(draining))
                text.Append(CultureInfo.InvariantCulture,
                    $"    pid {worker!["pid"]}  {((bool?)worker["ready"] == true ? "ready" : "not ready")}  {worker["connections"]} connection(s)"
                    + $"{(draining.Contains(worker) ? "  draining" : "")}\n");
            if (pool["lastDeploy"] is JsonObject deploy)
                text.Append((bool?)deploy["succeeded"] == true
                    ? $"    last deploy: generation {deploy["generation"]} serves ({deploy["trigger"]}, {deploy["at"]})\n"
                    : $"    last deploy failed: generation {deploy["generation"]}: {deploy["failure"]} ({deploy["trigger"]}, {deploy["at"]}); generation {deploy["previous"]} serves on\n");
        }
        text.Append("certificates:\n");
        foreach (JsonNode? certificate in status["certificates"] as JsonArray ?? [])
        {
            string names = string.Join(", ", (certificate!["serverNames"] as JsonArray ?? []).Select(n => n?.ToString()));
            text.Append(CultureInfo.InvariantCulture,
                $"  {names}  serial {certificate["serial"]}  expires {certificate["notAfter"]} (in {certificate["expiresInDays"]} days)\n");
        }
        if (status["lastReload"] is JsonObject last)
            text.Append(CultureInfo.InvariantCulture,
                $"last reload: {((bool?)last["applied"] == true ? "applied" : "refused")} ({last["trigger"]}, {last["at"]})\n");
        return text.ToString();
    }
}
