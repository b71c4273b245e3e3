using System.Text;
using Baton.Configuration;

namespace Baton.Channel;

/// <summary>
/// The part of a proxy pool's <see cref="WorkerSettings"/> its relay workers need: the backends as configured and the
/// relay's limits. Encoded as fields 15–19 of the Configure body (read in a second pass over it); nothing here is secret.
/// </summary>
internal sealed class RelaySettings
{
    public const int MaxBackends = RelayOptionsValidator.MaxBackends;

    /// <summary>IdleTimeoutsTag holds two u32 LE: the client side's, then the backend side's.</summary>
    private const byte BackendsTag = 15, ConnectTimeoutTag = 16, SendProxyProtocolTag = 17, IdleTimeoutsTag = 18, MaxRetryBackoffTag = 19;

    /// <summary>The fields this class reads; WorkerSettings leaves these to it and refuses other unknown tags.</summary>
    public static bool Owns(byte tag) => tag is >= BackendsTag and <= MaxRetryBackoffTag;

    /// <summary>Each as configured ("host:port" or a Unix socket path): the worker resolves names at each connection attempt.</summary>
    public IReadOnlyList<string> Backends { get; init; } = [];

    public TimeSpan ConnectTimeout { get; init; }
    public bool SendProxyProtocol { get; init; }
    public TimeSpan ClientIdleTimeout { get; init; }
    public TimeSpan BackendIdleTimeout { get; init; }

    /// <summary>The longest a backend that refused is left out before it is tried again.</summary>
    public TimeSpan MaxRetryBackoff { get; init; }

    public static RelaySettings From(PoolOptions pool) => new()
    {
        Backends = pool.EffectiveBackends,
        ConnectTimeout = pool.Relay.ConnectTimeout,
        SendProxyProtocol = pool.Relay.SendProxyProtocol,
        ClientIdleTimeout = pool.Relay.ClientIdleTimeout,
        BackendIdleTimeout = pool.Relay.BackendIdleTimeout,
        MaxRetryBackoff = pool.Relay.MaxRetryBackoff,
    };

    /// <summary>The same relay: backends in order and every limit (a reload compares the running pool's with the file's).</summary>
    public bool SameAs(RelaySettings other) =>
        Backends.SequenceEqual(other.Backends) && ConnectTimeout == other.ConnectTimeout && SendProxyProtocol == other.SendProxyProtocol
        && ClientIdleTimeout == other.ClientIdleTimeout && BackendIdleTimeout == other.BackendIdleTimeout && MaxRetryBackoff == other.MaxRetryBackoff;

    internal void WriteTo(ref ChannelBodyWriter writer)
    {
        int lengthOffset = writer.BeginField(BackendsTag);
        foreach (string backend in Backends)
            writer.WriteStringItem(backend, Encoding.UTF8);
        writer.EndField(lengthOffset);
        writer.WriteUInt32(ConnectTimeoutTag, Milliseconds(ConnectTimeout));
        writer.WriteByte(SendProxyProtocolTag, SendProxyProtocol ? (byte)1 : (byte)0);
        Span<byte> idle = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(idle, Milliseconds(ClientIdleTimeout));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(idle[4..], Milliseconds(BackendIdleTimeout));
        writer.WriteField(IdleTimeoutsTag, idle);
        writer.WriteUInt32(MaxRetryBackoffTag, Milliseconds(MaxRetryBackoff));
    }

    /// <summary>Reads the relay fields of a Configure body; every one is required, each bounded.</summary>
    internal static RelaySettings Read(ReadOnlySpan<byte> body)
    {
        var reader = new ChannelBodyReader(body);
        List<string> backends = [];
        uint connect = 0, clientIdle = 0, backendIdle = 0, maxBackoff = 0;
        bool proxyProtocol = false;
        while (reader.TryReadField(out byte tag, out ReadOnlySpan<byte> value))
        {
            switch (tag)
            {
                case BackendsTag: backends = ReadBackends(value); break;
                case ConnectTimeoutTag: connect = ChannelBodyReader.ReadUInt32(value, nameof(ConnectTimeout)); break;
                case SendProxyProtocolTag:
                    proxyProtocol = ChannelBodyReader.ReadByte(value, nameof(SendProxyProtocol)) switch
                    {
                        0 => false,
                        1 => true,
                        _ => throw ChannelBodyReader.Invalid(nameof(SendProxyProtocol)),
                    };
                    break;
                case IdleTimeoutsTag:
                    ChannelBodyReader.CheckLength(value, 8, 8, "IdleTimeouts");
                    clientIdle = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(value);
                    backendIdle = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(value[4..]);
                    break;
                case MaxRetryBackoffTag: maxBackoff = ChannelBodyReader.ReadUInt32(value, nameof(MaxRetryBackoff)); break;
            }
        }
        reader.Require(BackendsTag, nameof(Backends));
        reader.Require(ConnectTimeoutTag, nameof(ConnectTimeout));
        reader.Require(IdleTimeoutsTag, "IdleTimeouts");
        reader.Require(MaxRetryBackoffTag, nameof(MaxRetryBackoff));
        var settings = new RelaySettings
        {
            Backends = backends,
            ConnectTimeout = TimeSpan.FromMilliseconds(connect),
            SendProxyProtocol = proxyProtocol,
            ClientIdleTimeout = TimeSpan.FromMilliseconds(clientIdle),
            BackendIdleTimeout = TimeSpan.FromMilliseconds(backendIdle),
            MaxRetryBackoff = TimeSpan.FromMilliseconds(maxBackoff),
        };
        if (settings.Problem() is string problem)
            throw ChannelBodyReader.Invalid(problem);
        return settings;
    }

    private static List<string> ReadBackends(ReadOnlySpan<byte> value)
    {
        var backends = new List<string>();
        var items = new ChannelListReader(value, MaxBackends, nameof(Backends));
        while (items.TryReadItem(out ReadOnlySpan<byte> item))
            backends.Add(ChannelBodyReader.ReadString(item, ChannelCodec.MaxNameBytes, nameof(Backends)));
        return backends;
    }

    /// <summary>The rules both ends enforce; null when the settings are usable.</summary>
    internal string? Problem()
    {
        if (Backends.Count is 0 or > MaxBackends) return $"{nameof(Backends)}: 1..{MaxBackends} backends";
        if (Backends.FirstOrDefault(b => !BackendAddress.TryParse(b, out _)) is string bad) return $"{nameof(Backends)}: '{bad}' is not a backend address";
        foreach ((string name, TimeSpan value) in new[] { (nameof(ConnectTimeout), ConnectTimeout), (nameof(ClientIdleTimeout), ClientIdleTimeout), (nameof(BackendIdleTimeout), BackendIdleTimeout), (nameof(MaxRetryBackoff), MaxRetryBackoff) })
        {
            if (value <= TimeSpan.Zero || value.TotalMilliseconds > uint.MaxValue) return $"{name} must be 1 ms..49 days";
        }
        return null;
    }

    private static uint Milliseconds(TimeSpan value) => (uint)value.TotalMilliseconds;
}
