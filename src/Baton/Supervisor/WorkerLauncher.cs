using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Tls;

namespace Baton.Supervisor;

/// <summary>
/// Decides what a pool's workers run (the built-in <c>baton worker</c> or the pool's command) and
/// what settings they get: passthrough workers receive the certificates and keys over their channel
/// (never on the command line, in the environment or in a file), and the front's current session-ticket keys,
/// so a session resumes on any worker; handoff workers receive no key material.
/// </summary>
internal sealed class WorkerLauncher
{
    private readonly BatonOptions _options;
    private readonly CertificateStore _certificates;
    /// <summary>The front's one ring: a passthrough worker starts with its keys and is sent every change (TicketKeyDistribution).</summary>
    private readonly TicketKeyRing _ticketKeys;

    public WorkerLauncher(BatonOptions options, CertificateStore certificates, TicketKeyRing ticketKeys)
    {
        _options = options;
        _certificates = certificates;
        _ticketKeys = ticketKeys;
    }

    public WorkerProcess Launch(string pool, ILogger logger, Action<WorkerProcess> changed)
    {
        PoolOptions options = _options.Pools[pool];
        IReadOnlyList<string> argv = options.Command is null ? BuiltInWorkerCommand() : [options.Command, .. options.Arguments];
        var environment = new Dictionary<string, string>(options.Environment) { [WorkerEnvironment.PoolVariable] = pool };
        if (options.User is not null)
            environment[WorkerEnvironment.UserVariable] = options.User;
        bool passthrough = options.Mode == HandoffMode.Passthrough;
        long ticketKeysVersion = -1;
        byte[] ticketKeys = passthrough ? _ticketKeys.ExportKeys(out ticketKeysVersion) : [];
        var settings = new WorkerSettings
        {
            Pool = pool,
            Mode = options.Mode,
            AcceptedAlpn = options.EffectiveAlpn,
            Certificates = passthrough ? _certificates.Certificates : [],
            TicketKeys = ticketKeys,
            ClientCertificates = passthrough ? _certificates.ClientCertificates : [],
            OcspResponses = passthrough ? _certificates.ReadOcspResponses() : [],
            TicketsPerHandshake = _options.SessionTickets.TicketsPerHandshake,
            HandshakeTimeout = _options.Limits.HandshakeTimeout,
        };
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        try
        {
            int length = settings.WriteTo(body);
            WorkerProcess worker = WorkerProcess.Start(pool, argv, environment, body.AsSpan(0, length), logger, changed);
            worker.TicketKeysVersion = ticketKeysVersion;
            return worker;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
            CryptographicOperations.ZeroMemory(ticketKeys);
        }
    }

    /// <summary>This same executable with the <c>worker</c> command, whether it runs as an apphost or as <c>dotnet baton.dll</c>.</summary>
    private static IReadOnlyList<string> BuiltInWorkerCommand()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            return [process, Assembly.GetEntryAssembly()!.Location, "worker"];
        return [process, "worker"];
    }
}
