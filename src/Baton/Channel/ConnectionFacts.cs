using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// What the front knows about a connection, sent with its fd (Connection body).
/// Secrets: the TLS state (traffic keys) is never held here, only its length: the front serializes it straight
/// into its slot of the body (<see cref="WriteTo"/>) and the worker parses it straight from the received body
/// (<see cref="ReadFrom"/>), so no other serialized copy of the keys exists on either side.
/// <see cref="InitialData"/> holds client plaintext: call <see cref="Wipe"/> once it has been used.
/// </summary>
internal sealed partial class ConnectionFacts
{
    public const int MaxTlsStateLength = 4 * 1024;
    public const int MaxInitialDataLength = 64 * 1024;

    /// <summary>Room for a few whole records the front received but libssl had not processed.</summary>
    public const int MaxInitialCiphertextLength = 64 * 1024;

    private const byte ModeTag = 1, PoolTag = 2, RemoteTag = 3, LocalTag = 4, ServerNameTag = 5,
        OfferedAlpnTag = 6, NegotiatedAlpnTag = 7, TlsStateTag = 8, InitialDataTag = 9, InitialCiphertextTag = 10,
        ClientCertificatePolicyTag = 11, ClientCertificateChainTag = 12, ListenerTag = 16;

    public required HandoffMode Mode { get; init; }

    /// <summary>The pool the route picked.</summary>
    public required string Pool { get; init; }

    /// <summary>The client, from the PROXY header when there was one, else the socket's peer.</summary>
    public IPEndPoint? RemoteEndPoint { get; init; }

    public IPEndPoint? LocalEndPoint { get; init; }

    /// <summary>The listener that accepted the connection: a worker routes its later requests by the same rule (handback).</summary>
    public string? Listener { get; init; }

    /// <summary>SNI host name, when the client sent one.</summary>
    public string? ServerName { get; init; }

    /// <summary>The client's ALPN offer (passthrough: the worker negotiates).</summary>
    public IReadOnlyList<string> OfferedAlpn { get; init; } = [];

    /// <summary>The protocol the front negotiated (handoff only).</summary>
    public string? NegotiatedAlpn { get; init; }

    /// <summary>Bytes of the serialized record-layer state (handoff only, required there; the state itself is a SECRET).</summary>
    public int TlsStateLength { get; init; }

    /// <summary>Plaintext the front already read from the client (handoff: the first request head). Sensitive.</summary>
    public ReadOnlyMemory<byte> InitialData { get; init; }

    /// <summary>
    /// TLS records the front read off the socket but did not decrypt (handoff only): the worker's
    /// record layer consumes them before reading the socket.
    /// </summary>
    public ReadOnlyMemory<byte> InitialCiphertext { get; init; }

    /// <summary>
    /// Passthrough: which of the worker's client-certificate settings (<see cref="WorkerSettings.ClientCertificates"/>, from 1)
    /// its handshake applies; 0 asks for none.
    /// </summary>
    public int ClientCertificatePolicy { get; init; }

    /// <summary>Handoff: the client certificate the front verified, then the chain the client sent with it (DER, leaf first).</summary>
    public IReadOnlyList<byte[]> ClientCertificateChain { get; init; } = [];

    /// <summary>Zeroes <see cref="InitialData"/> in place (whatever memory backs it).</summary>
    public void Wipe() => CryptographicOperations.ZeroMemory(MemoryMarshal.AsMemory(InitialData).Span);

    /// <summary>
    /// Bytes <see cref="WriteTo"/> needs at most: the names, endpoints and field headers fit in 2 KiB;
    /// the ALPN offer and the three byte fields are counted. Lets the front rent a small buffer.
    /// </summary>
    internal int EncodedLengthUpperBound =>
        2048 + OfferedAlpn.Count * (ChannelBodyWriter.ItemHeaderLength + ChannelCodec.MaxNameBytes)
        + TlsStateLength + InitialData.Length + InitialCiphertext.Length
        + ClientCertificateChain.Sum(certificate => ChannelBodyWriter.ItemHeaderLength + certificate.Length);

    /// <summary>
    /// Encodes the facts into <paramref name="destination"/>; returns the body length. <paramref name="tlsState"/> is
    /// the <see cref="TlsStateLength"/> bytes of the body the caller must fill with the serialized state (empty in passthrough).
    /// </summary>
    internal int WriteTo(Span<byte> destination, out Span<byte> tlsState)
    {
        if (Problem() is string problem)
        {
            throw new ArgumentException(problem);
        }
        var writer = new ChannelBodyWriter(destination);
        writer.WriteByte(ModeTag, (byte)Mode);
        writer.WriteString(PoolTag, Pool, Encoding.UTF8);
        if (RemoteEndPoint is not null) ChannelCodec.WriteEndPoint(ref writer, RemoteTag, RemoteEndPoint);
        if (LocalEndPoint is not null) ChannelCodec.WriteEndPoint(ref writer, LocalTag, LocalEndPoint);
        if (ServerName is not null) writer.WriteString(ServerNameTag, ServerName, Encoding.UTF8);
        if (OfferedAlpn.Count > 0) ChannelCodec.WriteAlpnList(ref writer, OfferedAlpnTag, OfferedAlpn);
        if (NegotiatedAlpn is not null) writer.WriteString(NegotiatedAlpnTag, NegotiatedAlpn, ChannelCodec.AlpnEncoding);
        tlsState = TlsStateLength > 0 ? writer.WriteFieldSlot(TlsStateTag, TlsStateLength) : [];
        if (!InitialData.IsEmpty) writer.WriteField(InitialDataTag, InitialData.Span);
        if (!InitialCiphertext.IsEmpty) writer.WriteField(InitialCiphertextTag, InitialCiphertext.Span);
        if (ClientCertificatePolicy > 0) writer.WriteByte(ClientCertificatePolicyTag, (byte)ClientCertificatePolicy);
        if (ClientCertificateChain.Count > 0) ClientCertificateChainCodec.Write(ref writer, ClientCertificateChainTag, ClientCertificateChain);
        if (Listener is not null) writer.WriteString(ListenerTag, Listener, Encoding.UTF8);
        return writer.Written;
    }

    /// <summary>
    /// Decodes a Connection body. <see cref="InitialData"/> and <see cref="InitialCiphertext"/> are copied (the
    /// record layer reads them for the connection's life); <paramref name="tlsState"/> is not: it is the state's
    /// bytes inside <paramref name="body"/>, to be parsed before the body's buffer is wiped or reused.
    /// </summary>
    internal static ConnectionFacts ReadFrom(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> tlsState) => new(body, out tlsState);

    public ConnectionFacts()
    {
    }

    [SetsRequiredMembers]
    private ConnectionFacts(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> tlsState)
    {
        Pool = "";
        tlsState = [];
        var reader = new ChannelBodyReader(body);
        try
        {
            while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
            {
                switch (tag)
                {
                    case ModeTag: Mode = ChannelCodec.ReadMode(value, nameof(Mode)); break;
                    case PoolTag: Pool = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, nameof(Pool)); break;
                    case RemoteTag: RemoteEndPoint = ChannelCodec.ReadEndPoint(value, nameof(RemoteEndPoint)); break;
                    case LocalTag: LocalEndPoint = ChannelCodec.ReadEndPoint(value, nameof(LocalEndPoint)); break;
                    case ServerNameTag: ServerName = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, nameof(ServerName)); break;
                    case OfferedAlpnTag: OfferedAlpn = ChannelCodec.ReadAlpnList(value, nameof(OfferedAlpn)); break;
                    case NegotiatedAlpnTag: NegotiatedAlpn = ChannelCodec.ReadAlpn(value, nameof(NegotiatedAlpn)); break;
                    case TlsStateTag:
                        ChannelBodyReader.CheckLength(value, 1, MaxTlsStateLength, "TlsState");
                        tlsState = value;
                        TlsStateLength = value.Length;
                        break;
                    case InitialDataTag: InitialData = ChannelBodyReader.ReadBytes(value, 1, MaxInitialDataLength, nameof(InitialData)); break;
                    case InitialCiphertextTag:
                        InitialCiphertext = ChannelBodyReader.ReadBytes(value, 1, MaxInitialCiphertextLength, nameof(InitialCiphertext));
                        break;
                    case ClientCertificatePolicyTag:
                        ClientCertificatePolicy = ChannelBodyReader.ReadByte(value, nameof(ClientCertificatePolicy));
                        break;
                    case ClientCertificateChainTag: ClientCertificateChain = ClientCertificateChainCodec.Read(value, nameof(ClientCertificateChain)); break;
                    case ListenerTag: Listener = ChannelBodyReader.ReadString(value, ChannelCodec.MaxNameBytes, nameof(Listener)); break;
                    default: throw ChannelBodyReader.UnknownField(tag);
                }
            }
            reader.Require(ModeTag, nameof(Mode));
            reader.Require(PoolTag, nameof(Pool));
            if (Problem() is string problem)
            {
                throw ChannelBodyReader.Invalid(problem);
            }
        }
        catch (ChannelProtocolException)
        {
            // Plaintext copied before a later field failed must not outlive the refused message.
            Wipe();
            throw;
        }
    }

    /// <summary>The rules both ends enforce; null when the facts are consistent.</summary>
    private string? Problem()
    {
        if (Mode is not (HandoffMode.Passthrough or HandoffMode.Handoff)) return $"unknown mode {Mode}";
        if (ChannelCodec.NameProblem(Pool, nameof(Pool)) is string poolProblem) return poolProblem;
        if (ChannelCodec.NameProblem(ServerName, nameof(ServerName)) is string sniProblem) return sniProblem;
        if (ChannelCodec.NameProblem(Listener, nameof(Listener)) is string listenerProblem) return listenerProblem;
        if (ChannelCodec.AlpnProblem(OfferedAlpn, nameof(OfferedAlpn)) is string offerProblem) return offerProblem;
        if (NegotiatedAlpn is not null && ChannelCodec.AlpnProblem(NegotiatedAlpn) is string alpnProblem) return alpnProblem;
        if (TlsStateLength is < 0 or > MaxTlsStateLength) return $"TlsState must be 0..{MaxTlsStateLength} bytes";
        if (InitialData.Length > MaxInitialDataLength) return $"{nameof(InitialData)} exceeds {MaxInitialDataLength} bytes";
        if (InitialCiphertext.Length > MaxInitialCiphertextLength) return $"{nameof(InitialCiphertext)} exceeds {MaxInitialCiphertextLength} bytes";
        if (Mode != HandoffMode.Handoff && !InitialCiphertext.IsEmpty) return "passthrough cannot carry InitialCiphertext";
        bool handoff = Mode == HandoffMode.Handoff;
        if (handoff == (TlsStateLength == 0)) return handoff ? "handoff needs TlsState" : "passthrough cannot carry TlsState";
        if (!handoff && NegotiatedAlpn is not null) return "passthrough cannot carry NegotiatedAlpn";
        if (ClientCertificatePolicy is < 0 or > ClientCertificatePolicies.MaxPolicies) return $"ClientCertificatePolicy must be 0..{ClientCertificatePolicies.MaxPolicies}";
        if (handoff && ClientCertificatePolicy != 0) return "handoff cannot carry ClientCertificatePolicy (the front verified)";
        if (!handoff && ClientCertificateChain.Count > 0) return "passthrough cannot carry ClientCertificateChain (the worker verifies)";
        if (ClientCertificateChainCodec.Problem(ClientCertificateChain) is string chainProblem) return chainProblem;
        return null;
    }
}
