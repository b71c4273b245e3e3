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
/// (never on the command line, in the environment or in a file), and the session-ticket keys when a key
/// file is configured, so a session resumes on any worker of the pool; handoff workers receive no key material.
/// </summary>
internal sealed class WorkerLauncher
{
    private readonly BatonOptions _options;
    private readonly CertificateStore _certificates;
    /// <summary>SessionTickets:KeyFile's contents, read once as the handoff front's ring is; empty without a key file.</summary>
    private readonly byte[] _ticketKeys;

    public WorkerLauncher(BatonOptions options, CertificateStore certificates)
    {
        _options = options;
        _certificates = certificates;
        _ticketKeys = options.SessionTickets.KeyFile is string keyFile ? File.ReadAllBytes(keyFile) : [];
    }

    public WorkerProcess Launch(string pool, ILogger logger, Action<WorkerProcess> changed)
    {
        PoolOptions options = _options.Pools[pool];
        IReadOnlyList<string> argv = options.Command is null ? BuiltInWorkerCommand() : [options.Command, .. options.Arguments];
        var environment = new Dictionary<string, string>(options.Environment) { [WorkerEnvironment.PoolVariable] = pool };
        if (options.User is not null)
            environment[WorkerEnvironment.UserVariable] = options.User;
        var settings = new WorkerSettings
        {
            Pool = pool,
            Mode = options.Mode,
            AcceptedAlpn = options.EffectiveAlpn,
            Certificates = options.Mode == HandoffMode.Passthrough ? _certificates.Certificates : [],
            TicketKeys = options.Mode == HandoffMode.Passthrough ? _ticketKeys : [],
            TicketsPerHandshake = _options.SessionTickets.TicketsPerHandshake,
            HandshakeTimeout = _options.Limits.HandshakeTimeout,
            // A handoff worker routes later requests by the same rule: HTTP/1.1 ones are handed back, h2 ones answered 421.
            Routes = options.Mode == HandoffMode.Handoff ? new RouteTable(_options) : null,
        };
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        try
        {
            int length = settings.WriteTo(body);
            return WorkerProcess.Start(pool, argv, environment, body.AsSpan(0, length), logger, changed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
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
