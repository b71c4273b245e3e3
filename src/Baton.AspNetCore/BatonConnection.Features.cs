using System.Buffers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Baton.Configuration;

namespace Baton.AspNetCore;

/// <summary>
/// The connection is its own feature set, as in Kestrel's TransportConnection: the TLS facts Kestrel
/// and the app read (ALPN decides HTTP/2; ITlsConnectionFeature's presence tells Kestrel this is TLS)
/// and Baton's own facts.
/// </summary>
internal sealed partial class BatonConnection :
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IMemoryPoolFeature, ITlsHandshakeFeature, ITlsApplicationProtocolFeature,
    ITlsConnectionFeature, IBatonConnectionFeature
{
    private IDictionary<object, object?>? _items;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public MemoryPool<byte> MemoryPool { get; }

    public SslProtocols Protocol => _stream.SslProtocol;

    public TlsCipherSuite? NegotiatedCipherSuite => _stream.NegotiatedCipherSuite;

    /// <summary>The SNI name the client sent (empty when none).</summary>
    public string HostName { get; }

    public ReadOnlyMemory<byte> ApplicationProtocol { get; }

#pragma warning disable SYSLIB0058 // Obsolete in .NET 10 in favour of NegotiatedCipherSuite; required by the interface.
    public CipherAlgorithmType CipherAlgorithm => CipherAlgorithmType.None;
    public int CipherStrength => 0;
    public HashAlgorithmType HashAlgorithm => HashAlgorithmType.None;
    public int HashStrength => 0;
    public ExchangeAlgorithmType KeyExchangeAlgorithm => ExchangeAlgorithmType.None;
    public int KeyExchangeStrength => 0;
#pragma warning restore SYSLIB0058

    private X509Certificate2? _clientCertificate;
    private bool _clientCertificateRead;

    /// <summary>
    /// The client certificate the handshake verified (the front's in handoff mode, this worker's in passthrough), or null
    /// when none was asked for or the client sent none where it was optional. Made on first use: most requests never ask.
    /// </summary>
    public X509Certificate2? ClientCertificate
    {
        get
        {
            if (!_clientCertificateRead)
            {
                _clientCertificate = _stream.ClientCertificateChain.Count > 0 ? X509CertificateLoader.LoadCertificate(_stream.ClientCertificateChain[0]) : null;
                _clientCertificateRead = true;
            }
            return _clientCertificate;
        }
        set
        {
            _clientCertificate = value;
            _clientCertificateRead = true;
        }
    }

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);

    public string Pool => _connection.Pool;

    /// <summary>Where the front's routes send a request for this host and path (null: no routes known); see MisdirectedRequestFilter.</summary>
    internal string? PoolForRequest(string? host, string? path) => _connection.PoolForRequest(host, path);

    public HandoffMode Mode => _connection.Mode;

    public ulong FrontConnectionId => _connection.Id;

    public string TlsProtocolName => _stream.ProtocolName;

    public string CipherSuiteName => _stream.CipherSuiteName;

    private FeatureCollection CreateFeatures()
    {
        var features = new FeatureCollection();
        features.Set<IConnectionIdFeature>(this);
        features.Set<IConnectionTransportFeature>(this);
        features.Set<IConnectionItemsFeature>(this);
        features.Set<IConnectionLifetimeFeature>(this);
        features.Set<IConnectionEndPointFeature>(this);
        features.Set<IMemoryPoolFeature>(this);
        features.Set<ITlsHandshakeFeature>(this);
        features.Set<ITlsApplicationProtocolFeature>(this);
        features.Set<ITlsConnectionFeature>(this);
        features.Set<IBatonConnectionFeature>(this);
        return features;
    }
}
