
namespace Baton.Configuration;

/// <summary>
/// The whole configuration of a Baton front, bound from the "Baton" section
/// (JSON file, then BATON__ environment variables, then command-line flags).
/// </summary>
internal sealed class BatonOptions
{
    public const string SectionName = "Baton";

    public List<ListenerOptions> Listeners { get; set; } = [];
    public Dictionary<string, PoolOptions> Pools { get; set; } = new(StringComparer.Ordinal);
    public List<RouteOptions> Routes { get; set; } = [];

    /// <summary>Pool for connections that no route matches.</summary>
    public string DefaultPool { get; set; } = "default";

    /// <summary>Certificates by server name; the first one is served when SNI matches none.</summary>
    public List<CertificateOptions> Certificates { get; set; } = [];

    public LimitOptions Limits { get; set; } = new();

    /// <summary>
    /// The front's event loops (threads that each run their connections from readiness to handoff); 0: one per core.
    /// Read at start: a reload does not change it.
    /// </summary>
    public int EventLoops { get; set; }

    /// <summary>The most event loops a front may be given.</summary>
    public const int MaxEventLoops = 256;

    /// <summary><see cref="EventLoops"/>, or one per core when it is 0.</summary>
    public int EventLoopCount => EventLoops == 0 ? Environment.ProcessorCount : EventLoops;

    /// <summary>Session tickets: their keys and how many a handshake issues (both modes).</summary>
    public SessionTicketOptions SessionTickets { get; set; } = new();

    /// <summary>The control socket `baton status` and `baton reload` talk to (docs/operating.md).</summary>
    public ControlOptions Control { get; set; } = new();

    /// <summary>The Prometheus endpoint (ObservabilityOptions.cs).</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>The access log (ObservabilityOptions.cs).</summary>
    public AccessLogOptions AccessLog { get; set; } = new();
}

internal sealed class SessionTicketOptions
{
    /// <summary>One key of a key file: 16 bytes of name, 32 of HMAC secret, 32 of AES key (nginx's format).</summary>
    public const int KeyEntryLength = 80;

    /// <summary>The most keys a key file (and a worker's Configure message) may hold.</summary>
    public const int MaxKeys = 64;

    /// <summary>The most TLS 1.3 tickets one full handshake may issue.</summary>
    public const int MaxTicketsPerHandshake = 16;

    /// <summary>OpenSSL's default number of TLS 1.3 tickets after a full handshake.</summary>
    public const int DefaultTicketsPerHandshake = 2;

    /// <summary>
    /// File of 80-byte keys (nginx's ssl_session_ticket_key format: 16 name, 32 HMAC, 32 AES bytes);
    /// the first key encrypts, all decrypt. Share it between fronts so they resume each other's
    /// sessions. Null: random keys made in memory and rotated.
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary>How often in-memory keys are replaced.</summary>
    public TimeSpan RotationInterval { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long a replaced in-memory key still decrypts tickets.</summary>
    public TimeSpan DecryptionWindow { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// TLS 1.3 tickets sent after a full handshake, by the handoff front and by passthrough workers, 0 to
    /// <see cref="MaxTicketsPerHandshake"/>. A resumption gets one, whatever this says, unless it is 0: then no TLS 1.3
    /// session resumes (OpenSSL's rules, SSL_CTX_set_num_tickets(3)). Each ticket costs the front an encryption
    /// inside its handshake; clients that open several connections at once use one each.
    /// </summary>
    public int TicketsPerHandshake { get; set; } = DefaultTicketsPerHandshake;
}

internal sealed class ListenerOptions
{
    public string Name { get; set; } = "";

    /// <summary>"host:port", e.g. "127.0.0.1:8443" or "[::1]:8443".</summary>
    public string Address { get; set; } = "";

    /// <summary>Require a PROXY protocol v1 or v2 header before the TLS ClientHello.</summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>
    /// Deliberate sharding: let other processes that also set it bind this address (SO_REUSEPORT), and the
    /// kernel splits new connections between them. Off, a second front on the address fails to start.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>Client certificates asked of this listener's connections (a route by ServerNames may set its own).</summary>
    public ClientCertificateOptions? ClientCertificates { get; set; }
}

internal sealed class PoolOptions
{
    public int Workers { get; set; } = 2;
    public HandoffMode Mode { get; set; } = HandoffMode.Passthrough;

    /// <summary>Executable of a custom worker; null runs the built-in `baton worker` (`baton relay` for a proxy pool).</summary>
    public string? Command { get; set; }

    public List<string> Arguments { get; set; } = [];

    /// <summary>
    /// ALPN protocols the pool's workers speak, in server preference order; null means
    /// <see cref="DefaultAlpn"/>. (A non-empty default list would be appended to by the configuration binder.)
    /// </summary>
    public List<string>? Alpn { get; set; }

    public static IReadOnlyList<string> DefaultAlpn { get; } = ["h2", "http/1.1"];

    /// <summary>The protocols in effect. A proxy pool negotiates none unless told: its backend may speak anything.</summary>
    internal IReadOnlyList<string> EffectiveAlpn => Alpn ?? (Mode == HandoffMode.Proxy ? [] : DefaultAlpn);

    /// <summary>Proxy mode: the backend, "host:port" or a Unix socket path; with <see cref="Backends"/>, one more.</summary>
    public string? Backend { get; set; }

    /// <summary>Proxy mode: several backends, tried in turn; one that refuses is left out for a while.</summary>
    public List<string> Backends { get; set; } = [];

    /// <summary>Proxy mode: every backend, <see cref="Backend"/> first.</summary>
    internal IReadOnlyList<string> EffectiveBackends => Backend is null ? Backends : [Backend, .. Backends];

    /// <summary>Proxy mode: connect timeout, PROXY v2 header, idle timeouts.</summary>
    public RelayOptions Relay { get; set; } = new();

    /// <summary>What the front waits for after the handshake; null: Http for handoff pools, None for proxy pools.</summary>
    public FirstRequest? FirstRequest { get; set; }

    internal FirstRequest EffectiveFirstRequest => FirstRequest ?? (Mode == HandoffMode.Proxy ? Configuration.FirstRequest.None : Configuration.FirstRequest.Http);

    public int MaxConnectionsPerWorker { get; set; } = 10_000;

    /// <summary>User the workers run as (they drop to it at start); null keeps the front's user.</summary>
    public string? User { get; set; }

    /// <summary>
    /// Variables the workers get on top of the few they inherit from the front (PATH, HOME, locale, DOTNET_*,
    /// ...; see Channel.WorkerEnvironment): the rest of the front's environment may hold its configuration.
    /// </summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class RouteOptions
{
    /// <summary>Listener name this route applies to; null applies to every listener.</summary>
    public string? Listener { get; set; }

    /// <summary>SNI names, exact or "*.example.com"; empty matches any.</summary>
    public List<string> ServerNames { get; set; } = [];

    /// <summary>Host header values (without port), exact or "*.example.com"; empty matches any. Handoff pools only.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>Request path prefix, e.g. "/api/"; null matches any. Handoff pools only.</summary>
    public string? PathPrefix { get; set; }

    /// <summary>True when the route needs the first request (Host or path) to decide.</summary>
    internal bool NeedsRequest => Hosts.Count > 0 || PathPrefix is not null;

    public string Pool { get; set; } = "";

    /// <summary>Client certificates asked of the connections this route takes, instead of its listener's (not on a Host/path route).</summary>
    public ClientCertificateOptions? ClientCertificates { get; set; }
}

internal sealed class CertificateOptions
{
    /// <summary>Names this certificate serves (exact or "*.example.com"); empty uses the certificate's own default role.</summary>
    public List<string> ServerNames { get; set; } = [];

    public string CertificateFile { get; set; } = "";
    public string KeyFile { get; set; } = "";

    /// <summary>
    /// A DER OCSP response for this certificate that the operator (or a cron job) refreshes; stapled while it is good and
    /// within its validity window, reread when it changes. Null: nothing is stapled.
    /// </summary>
    public string? OcspResponseFile { get; set; }
}

internal sealed class LimitOptions
{
    public TimeSpan ProxyHeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);
    public int ClientHelloMaxBytes { get; set; } = 16 * 1024;
    public TimeSpan ClientHelloTimeout { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Handoff mode: how long the front waits for the first request head after the handshake.</summary>
    public TimeSpan RequestHeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Handoff mode: the largest first request head the front reads (431 past it).</summary>
    public int MaxRequestHeadBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// How long a connection may wait for a worker that can take it (one is starting, restarting or below its limit
    /// again) before the front answers it 503 or with an alert. A connection already sent waits for that worker's
    /// answer instead, which <see cref="WorkerResponseTimeout"/> bounds.
    /// </summary>
    public TimeSpan DispatchTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a ready worker may leave a ping or a sent connection unanswered before the front kills and restarts it
    /// and gives the connections it never acknowledged to other workers.
    /// </summary>
    public TimeSpan WorkerResponseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The shortest <see cref="WorkerResponseTimeout"/>: below it a garbage collection could pass for a hang.</summary>
    public static readonly TimeSpan MinWorkerResponseTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Connections the front holds at once (being inspected, in a front handshake, or waiting for a
    /// worker's Ack); at the cap it stops accepting until one leaves. Handed-off connections don't count.
    /// The front lowers it at start when its descriptor limit leaves less room (each held connection is a descriptor).
    /// </summary>
    public int MaxFrontConnections { get; set; } = 10_000;

    /// <summary>
    /// Under connection pressure (from 80% of the front's cap until it is back under 50%), the longest a wait that starts
    /// then may take before the handoff: PROXY header, ClientHello, handshake, request head. Idle clients make room first.
    /// </summary>
    public TimeSpan PressureTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the front waits at start for every worker to report Ready before it gives up.</summary>
    public TimeSpan WorkerStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long workers get to finish their connections on SIGTERM before they are killed.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First restart delay of a worker that exited; doubles per consecutive failure.</summary>
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromSeconds(10);
}
