using System.Diagnostics.CodeAnalysis;
using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The Configure body, sent once to a freshly spawned worker. Secrets: every
/// <see cref="CertificateMaterial.PrivateKeyPem"/> and <see cref="TicketKeys"/>; call <see cref="Wipe"/> once the keys are loaded.
/// </summary>
internal sealed class WorkerSettings
{
    public const int MaxCertificates = 256;
    public const int MaxTicketKeys = SessionTicketOptions.MaxKeys;
    public const int MaxOcspResponseLength = 16 * 1024;

    // Tag 6 is retired (it was a test hook): a worker built against another Baton version may still
    // know it, so it is never given a new meaning, and the reader refuses it like any unknown tag.
    private const byte PoolTag = 1, ModeTag = 2, AlpnTag = 3, CertificatesTag = 4, TimeoutTag = 5, TicketKeysTag = 7, TicketsPerHandshakeTag = 8,
        ClientCertificatesTag = 9, OcspResponsesTag = 10;

    /// <summary>The routes' tags, shared with the Routes body (<see cref="RoutesUpdate"/>).</summary>
    internal const byte RoutesTag = 20, DefaultPoolTag = 21;

    public required string Pool { get; init; }

    public required HandoffMode Mode { get; init; }

    /// <summary>ALPN protocols the pool accepts, in preference order.</summary>
    public IReadOnlyList<string> AcceptedAlpn { get; init; } = [];

    /// <summary>Passthrough only: the worker runs the handshake and needs the keys. Empty in handoff mode.</summary>
    public IReadOnlyList<CertificateMaterial> Certificates { get; init; } = [];

    public required TimeSpan HandshakeTimeout { get; init; }

    /// <summary>Passthrough: <c>SessionTickets:TicketsPerHandshake</c>, the TLS 1.3 tickets after a full handshake.</summary>
    public int TicketsPerHandshake { get; init; } = SessionTicketOptions.DefaultTicketsPerHandshake;

    /// <summary>
    /// Passthrough only: the session-ticket keys of <c>SessionTickets:KeyFile</c> (n × 80 bytes, the first encrypts),
    /// so that every worker of the pool resumes the sessions of the others. Empty: each worker makes its own.
    /// </summary>
    public byte[] TicketKeys { get; init; } = [];

    /// <summary>
    /// Passthrough only: an OCSP response (DER) to staple for each of <see cref="Certificates"/>, in their order; an empty
    /// one staples nothing. The worker checks each as the front does.
    /// </summary>
    public IReadOnlyList<byte[]> OcspResponses { get; init; } = [];

    /// <summary>Passthrough only: the front's client-certificate settings; a connection's facts name the one it gets (from 1).</summary>
    public IReadOnlyList<ClientCertificateMaterial> ClientCertificates { get; init; } = [];

    /// <summary>Proxy only (required there): the backends and the relay's limits.</summary>
    public RelaySettings? Relay { get; init; }

    /// <summary>
    /// Handoff: the front's routes and default pool, so that the worker routes each later request of a kept-alive
    /// connection by the same rule (<see cref="RouteTable"/>) and hands back the ones for another pool. Null: no handback.
    /// </summary>
    public RouteTable? Routes { get; init; }

    public void Wipe()
    {
        foreach (var certificate in Certificates)
        {
            certificate.Wipe();
        }
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(TicketKeys);
    }

    internal int WriteTo(Span<byte> destination)
    {
        if (Problem() is string problem)
        {
            throw new ArgumentException(problem);
        }
        var writer = new ChannelBodyWriter(destination);
        writer.WriteString(PoolTag, Pool, Encoding.UTF8);
        writer.WriteByte(ModeTag, (byte)Mode);
        if (AcceptedAlpn.Count > 0) ChannelCodec.WriteAlpnList(ref writer, AlpnTag, AcceptedAlpn);
        if (Certificates.Count > 0) CertificateMaterial.WriteList(ref writer, CertificatesTag, Certificates);
        writer.WriteUInt32(TimeoutTag, (uint)HandshakeTimeout.TotalMilliseconds);
        if (TicketKeys.Length > 0) writer.WriteField(TicketKeysTag, TicketKeys);
        writer.WriteByte(TicketsPerHandshakeTag, (byte)TicketsPerHandshake);
        if (OcspResponses.Any(response => response.Length > 0))
        {
            int lengthOffset = writer.BeginField(OcspResponsesTag);
            foreach (byte[] response in OcspResponses)
                writer.WriteItem(response);
            writer.EndField(lengthOffset);
        }
        if (ClientCertificates.Count > 0)
        {
            int lengthOffset = writer.BeginField(ClientCertificatesTag);
            foreach (ClientCertificateMaterial policy in ClientCertificates)
                policy.WriteItem(ref writer);
            writer.EndField(lengthOffset);
        }
        Relay?.WriteTo(ref writer);
        if (Routes is not null)
        {
            RouteMaterial.Write(ref writer, RoutesTag, Routes.Routes);
            writer.WriteString(DefaultPoolTag, Routes.DefaultPool, Encoding.UTF8);
        }
        return writer.Written;
    }

    internal static WorkerSettings ReadFrom(ReadOnlySpan<byte> body) => new(body);

    public WorkerSettings()
    {
    }

    [SetsRequiredMembers]
    private WorkerSettings(ReadOnlySpan<byte> body)
    {
        Pool = "";
        List<RouteOptions>? routes = null;
        string? defaultPool = null;
        var reader = new ChannelBodyReader(body);
        bool relayFields = false;
        try
        {
            while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
            {
                switch (tag)
                {
                    case PoolTag: Pool = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, nameof(Pool)); break;
                    case ModeTag: Mode = ChannelCodec.ReadMode(value, nameof(Mode)); break;
                    case AlpnTag: AcceptedAlpn = ChannelCodec.ReadAlpnList(value, nameof(AcceptedAlpn)); break;
                    case CertificatesTag: Certificates = CertificateMaterial.ReadList(value, MaxCertificates, nameof(Certificates)); break;
                    case TimeoutTag: HandshakeTimeout = TimeSpan.FromMilliseconds(ChannelBodyReader.ReadUInt32(value, nameof(HandshakeTimeout))); break;
                    case TicketKeysTag: TicketKeys = ChannelBodyReader.ReadBytes(value, 1, MaxTicketKeys * SessionTicketOptions.KeyEntryLength, nameof(TicketKeys)); break;
                    case TicketsPerHandshakeTag: TicketsPerHandshake = ChannelBodyReader.ReadByte(value, nameof(TicketsPerHandshake)); break;
                    case ClientCertificatesTag: ClientCertificates = ReadClientCertificates(value); break;
                    case OcspResponsesTag: OcspResponses = ReadOcspResponses(value); break;
                    case var relayTag when RelaySettings.Owns(relayTag): relayFields = true; break;
                    case RoutesTag: routes = RouteMaterial.Read(value); break;
                    case DefaultPoolTag: defaultPool = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, "DefaultPool"); break;
                    default: throw ChannelBodyReader.UnknownField(tag);
                }
            }
            reader.Require(PoolTag, nameof(Pool));
            if (Mode == HandoffMode.Proxy) Relay = RelaySettings.Read(body);
            else if (relayFields) throw ChannelBodyReader.Invalid("only proxy workers relay");
            reader.Require(ModeTag, nameof(Mode));
            reader.Require(TimeoutTag, nameof(HandshakeTimeout));
            // Routes and their default pool travel together.
            if ((routes is null) != (defaultPool is null)) throw ChannelBodyReader.Invalid("Routes and DefaultPool go together");
            Routes = routes is null ? null : new RouteTable(routes, defaultPool!);
            if (Problem() is string problem)
            {
                throw ChannelBodyReader.Invalid(problem);
            }
        }
        catch (ChannelProtocolException)
        {
            Wipe();
            throw;
        }
    }

    private static List<byte[]> ReadOcspResponses(ReadOnlySpan<byte> value)
    {
        var responses = new List<byte[]>();
        var items = new ChannelListReader(value, MaxCertificates, nameof(OcspResponses));
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            responses.Add(ChannelBodyReader.ReadBytes(item, 0, MaxOcspResponseLength, nameof(OcspResponses)));
        return responses;
    }

    private static List<ClientCertificateMaterial> ReadClientCertificates(ReadOnlySpan<byte> value)
    {
        var policies = new List<ClientCertificateMaterial>();
        var items = new ChannelListReader(value, ClientCertificatePolicies.MaxPolicies, nameof(ClientCertificates));
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            policies.Add(ClientCertificateMaterial.ReadItem(item));
        return policies;
    }

    private string? Problem()
    {
        if (Mode is not (HandoffMode.Passthrough or HandoffMode.Handoff or HandoffMode.Proxy)) return $"unknown mode {Mode}";
        if ((Mode == HandoffMode.Proxy) != (Relay is not null)) return Relay is null ? "proxy workers need the relay settings" : "only proxy workers relay";
        if (Relay?.Problem() is string relayProblem) return relayProblem;
        if (Mode == HandoffMode.Proxy && (Certificates.Count > 0 || TicketKeys.Length > 0)) return "relay workers never hold private or ticket keys";
        if (ChannelCodec.NameProblem(Pool, nameof(Pool)) is string poolProblem) return poolProblem;
        if (ChannelCodec.AlpnProblem(AcceptedAlpn, nameof(AcceptedAlpn)) is string alpnProblem) return alpnProblem;
        if (Certificates.Count > MaxCertificates) return $"more than {MaxCertificates} certificates";
        if (Mode == HandoffMode.Handoff && Certificates.Count > 0) return "handoff workers never hold private keys";
        if (Mode == HandoffMode.Handoff && TicketKeys.Length > 0) return "handoff workers never hold ticket keys";
        if (Mode != HandoffMode.Passthrough && OcspResponses.Count > 0) return "only passthrough workers staple (the front does for the others)";
        if (OcspResponses.Count > Certificates.Count) return "more OCSP responses than certificates";
        if (OcspResponses.Any(response => response.Length > MaxOcspResponseLength)) return $"an OCSP response must be at most {MaxOcspResponseLength} bytes";
        if (Mode != HandoffMode.Passthrough && ClientCertificates.Count > 0) return "only passthrough workers verify client certificates (the front does for the others)";
        if (ClientCertificates.Count > ClientCertificatePolicies.MaxPolicies) return $"more than {ClientCertificatePolicies.MaxPolicies} client-certificate settings";
        if (ClientCertificates.Select(c => c.Problem()).FirstOrDefault(p => p is not null) is string clientProblem) return clientProblem;
        if (TicketKeys.Length % SessionTicketOptions.KeyEntryLength != 0 || TicketKeys.Length > MaxTicketKeys * SessionTicketOptions.KeyEntryLength)
            return $"TicketKeys must be 1..{MaxTicketKeys} keys of {SessionTicketOptions.KeyEntryLength} bytes";
        if (TicketsPerHandshake is < 0 or > SessionTicketOptions.MaxTicketsPerHandshake)
            return $"TicketsPerHandshake must be 0..{SessionTicketOptions.MaxTicketsPerHandshake}";
        if (Routes is not null && Mode != HandoffMode.Handoff) return "only handoff workers route requests (handback)";
        if (Routes is not null && (RouteMaterial.Problem(Routes.Routes) ?? ChannelCodec.NameProblem(Routes.DefaultPool, "DefaultPool")) is string routeProblem)
            return routeProblem;
        if (HandshakeTimeout <= TimeSpan.Zero || HandshakeTimeout.TotalMilliseconds > uint.MaxValue) return "HandshakeTimeout must be 1 ms..49 days";
        return Certificates.Select(c => c.Problem()).FirstOrDefault(p => p is not null);
    }
}
