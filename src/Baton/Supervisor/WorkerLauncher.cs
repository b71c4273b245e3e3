using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Channel;
using Baton.Configuration;
using Baton.Diagnostics;
using Baton.Tls;

namespace Baton.Supervisor;

/// <summary>
/// Decides what a pool's workers run (the built-in <c>baton worker</c>, <c>baton relay</c> for a proxy pool, or the pool's command) and
/// what settings they get: passthrough workers receive the certificates and keys over their channel
/// (never on the command line, in the environment or in a file), the front's current session-ticket keys (so a
/// session resumes on any worker), its client-certificate settings and OCSP staples; handoff workers receive no key material.
/// </summary>
internal sealed class WorkerLauncher
{
    /// <summary>Held while a worker's settings are written and while a reload replaces what they are written from.</summary>
    private readonly Lock _gate = new();
    private BatonOptions _options;
    private CertificateStore _certificates;
    /// <summary>The front's one ring: a passthrough worker starts with its keys and is sent every change (TicketKeyDistribution).</summary>
    private TicketKeyRing _ticketKeys;

    public WorkerLauncher(BatonOptions options, CertificateStore certificates, TicketKeyRing ticketKeys)
    {
        _options = options;
        _certificates = certificates;
        _ticketKeys = ticketKeys;
    }

    /// <summary>The ring workers start with now (a reload may bring another: a new key file, new rotation settings).</summary>
    public TicketKeyRing TicketKeys
    {
        get
        {
            lock (_gate)
                return _ticketKeys;
        }
    }

    /// <summary>
    /// A reload: workers started from now on get <paramref name="certificates"/> and the keys of <paramref name="ticketKeys"/>
    /// (running workers get the ring over their channel, TicketKeyDistribution). Returns what was replaced, for
    /// <see cref="Restore"/> if the reload is given up.
    /// </summary>
    public LauncherState Update(BatonOptions options, CertificateStore certificates, TicketKeyRing ticketKeys)
    {
        lock (_gate)
        {
            var previous = new LauncherState(_options, _certificates, _ticketKeys);
            (_options, _certificates, _ticketKeys) = (options, certificates, ticketKeys);
            return previous;
        }
    }

    /// <summary>Puts back what <see cref="Update"/> replaced.</summary>
    public void Restore(LauncherState previous)
    {
        lock (_gate)
            (_options, _certificates, _ticketKeys) = (previous.Options, previous.Certificates, previous.TicketKeys);
    }

    /// <summary>The Certificates message body for running passthrough workers: the certificates workers are launched with now.</summary>
    public byte[] EncodeCertificateUpdate()
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        lock (_gate)
        {
            int length = new CertificateUpdate { Certificates = _certificates.Certificates }.WriteTo(body);
            byte[] exact = body[..length];
            CryptographicOperations.ZeroMemory(body);
            return exact;
        }
    }

    /// <summary>A worker of <paramref name="pool"/> with its generation's <paramref name="options"/> (a removed pool's too, until it is stopped).</summary>
    public WorkerProcess Launch(string pool, PoolOptions options, ILogger logger, Action<WorkerProcess> changed)
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        byte[] ticketKeys = [];
        try
        {
            IReadOnlyList<string> argv;
            Dictionary<string, string> environment;
            int length;
            long ticketKeysVersion = -1;
            lock (_gate)
            {
                // A proxy pool's workers are relays: the built-in `baton relay` unless the pool names its own.
                argv = options.Command is not null ? [options.Command, .. options.Arguments]
                    : BuiltInCommand(options.Mode == HandoffMode.Proxy ? "relay" : "worker");
                environment = new Dictionary<string, string>(options.Environment) { [WorkerEnvironment.PoolVariable] = pool };
                if (options.User is not null)
                    environment[WorkerEnvironment.UserVariable] = options.User;
                if (options.Mode == HandoffMode.Passthrough)
                    ticketKeys = _ticketKeys.ExportKeys(out ticketKeysVersion);
                length = Settings(pool, options, ticketKeys).WriteTo(body);
            }
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

    private WorkerSettings Settings(string pool, PoolOptions options, byte[] ticketKeys)
    {
        bool passthrough = options.Mode == HandoffMode.Passthrough;
        return new WorkerSettings
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
            Relay = options.Mode == HandoffMode.Proxy ? RelaySettings.From(options) : null,
            // A handoff worker routes later requests by the same rule: HTTP/1.1 ones are handed back, h2 ones answered 421.
            Routes = options.Mode == HandoffMode.Handoff ? new RouteTable(_options) : null,
        };
    }

    /// <summary>This same executable with <paramref name="command"/> (<c>worker</c>, <c>relay</c>), whether it runs as an apphost or as <c>dotnet baton.dll</c>.</summary>
    private static IReadOnlyList<string> BuiltInCommand(string command)
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            return [process, Assembly.GetEntryAssembly()!.Location, command];
        return [process, command];
    }
}

/// <summary>What a <see cref="WorkerLauncher"/> launched workers with before a reload (the ring's keys stay in the ring).</summary>
internal sealed record LauncherState(BatonOptions Options, CertificateStore Certificates, TicketKeyRing TicketKeys);
