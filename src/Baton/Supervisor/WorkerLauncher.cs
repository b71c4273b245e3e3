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
/// (never on the command line, in the environment or in a file), and the session-ticket keys when a key
/// file is configured, so a session resumes on any worker of the pool; handoff workers receive no key material.
/// </summary>
internal sealed class WorkerLauncher
{
    /// <summary>Held while a worker's settings are written and while a reload replaces what they are written from.</summary>
    private readonly Lock _gate = new();
    private BatonOptions _options;
    /// <summary>Every pool ever configured: a pool a reload removed still restarts a worker until it is stopped.</summary>
    private readonly Dictionary<string, PoolOptions> _pools;
    private CertificateStore _certificates;
    /// <summary>SessionTickets:KeyFile's contents, read once per load as the handoff front's ring is; empty without a key file.</summary>
    private byte[] _ticketKeys;

    public WorkerLauncher(BatonOptions options, CertificateStore certificates)
    {
        _options = options;
        _pools = new Dictionary<string, PoolOptions>(options.Pools, StringComparer.Ordinal);
        _certificates = certificates;
        _ticketKeys = ReadTicketKeys(options);
    }

    private static byte[] ReadTicketKeys(BatonOptions options) =>
        options.SessionTickets.KeyFile is string keyFile ? File.ReadAllBytes(keyFile) : [];

    /// <summary>
    /// A reload: workers started from now on get <paramref name="certificates"/> and the ticket key file's keys as they are
    /// now (the ticket-key push to running workers is SessionTickets' own message). Throws, changing nothing, if the key
    /// file cannot be read. Returns what was replaced, for <see cref="Restore"/> if the reload is given up, else <see cref="Forget"/>.
    /// </summary>
    public LauncherState Update(BatonOptions options, CertificateStore certificates)
    {
        byte[] ticketKeys = ReadTicketKeys(options);
        lock (_gate)
        {
            var previous = new LauncherState(_options, _certificates, _ticketKeys);
            (_options, _certificates, _ticketKeys) = (options, certificates, ticketKeys);
            foreach ((string name, PoolOptions pool) in options.Pools)
                _pools[name] = pool;
            return previous;
        }
    }

    /// <summary>Puts back what <see cref="Update"/> replaced (a pool it added stays known: nothing launches it any more).</summary>
    public void Restore(LauncherState previous)
    {
        lock (_gate)
        {
            CryptographicOperations.ZeroMemory(_ticketKeys);
            (_options, _certificates, _ticketKeys) = (previous.Options, previous.Certificates, previous.TicketKeys);
        }
    }

    /// <summary>The reload stands: the ticket keys it replaced are wiped (no launch reads them any more: launches take the lock).</summary>
    public static void Forget(LauncherState previous) => CryptographicOperations.ZeroMemory(previous.TicketKeys);

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

    public WorkerProcess Launch(string pool, ILogger logger, Action<WorkerProcess> changed)
    {
        byte[] body = new byte[ChannelHeader.MaxBodyLength];
        try
        {
            IReadOnlyList<string> argv;
            Dictionary<string, string> environment;
            int length;
            lock (_gate)
            {
                PoolOptions options = _pools[pool];
                // A proxy pool's workers are relays: the built-in `baton relay` unless the pool names its own.
                argv = options.Command is not null ? [options.Command, .. options.Arguments]
                    : BuiltInCommand(options.Mode == HandoffMode.Proxy ? "relay" : "worker");
                environment = new Dictionary<string, string>(options.Environment) { [WorkerEnvironment.PoolVariable] = pool };
                if (options.User is not null)
                    environment[WorkerEnvironment.UserVariable] = options.User;
                length = Settings(pool, options).WriteTo(body);
            }
            return WorkerProcess.Start(pool, argv, environment, body.AsSpan(0, length), logger, changed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    private WorkerSettings Settings(string pool, PoolOptions options) => new()
    {
        Pool = pool,
        Mode = options.Mode,
        AcceptedAlpn = options.EffectiveAlpn,
        Certificates = options.Mode == HandoffMode.Passthrough ? _certificates.Certificates : [],
        TicketKeys = options.Mode == HandoffMode.Passthrough ? _ticketKeys : [],
        TicketsPerHandshake = _options.SessionTickets.TicketsPerHandshake,
        HandshakeTimeout = _options.Limits.HandshakeTimeout,
        Relay = options.Mode == HandoffMode.Proxy ? RelaySettings.From(options) : null,
        // A handoff worker routes later requests by the same rule: HTTP/1.1 ones are handed back, h2 ones answered 421.
        Routes = options.Mode == HandoffMode.Handoff ? new RouteTable(_options) : null,
    };

    /// <summary>This same executable with <paramref name="command"/> (<c>worker</c>, <c>relay</c>), whether it runs as an apphost or as <c>dotnet baton.dll</c>.</summary>
    private static IReadOnlyList<string> BuiltInCommand(string command)
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            return [process, Assembly.GetEntryAssembly()!.Location, command];
        return [process, command];
    }
}

/// <summary>What a <see cref="WorkerLauncher"/> launched workers with before a reload. SECRET: <see cref="TicketKeys"/>.</summary>
internal sealed record LauncherState(BatonOptions Options, CertificateStore Certificates, byte[] TicketKeys);
