using System.Runtime.InteropServices;
using Baton.Inspection;

namespace Baton.Tls;

/// <summary>
/// Chooses what one connection offers once libssl has read its ClientHello. Called from the ClientHello callback with
/// the hello's server name as routes see it (the reading the front's own peek makes: <see cref="ClientHelloExtensions"/>),
/// it returns the ALPN protocols to offer, in server preference order, or null to end the handshake with
/// <paramref name="alert"/>, and the client certificates to ask for (null: none). It runs inside SSL_do_handshake: it
/// must not block, and an exception it throws becomes an internal_error alert.
/// </summary>
internal delegate IReadOnlyList<string>? ClientHelloSelector(string? serverName, out byte alert, out ClientCertificatePolicy? clientCertificates);

/// <summary>
/// A connection's <see cref="ClientHelloSelector"/> and the ALPN list it chose, which libssl's callbacks reach through
/// the SSL's ex_data. Only a context made with <see cref="TlsServerOptions.ApplicationProtocolsPerConnection"/> calls it.
/// The list lives in native memory: SSL_select_next_proto hands libssl a pointer into it, copied after the callback returns.
/// </summary>
internal sealed unsafe class ClientHelloSelection
{
    private static readonly int s_index = NewIndex();
    private readonly ClientHelloSelector _selector;
    private GCHandle _self;
    private byte* _alpnWire;

    private ClientHelloSelection(ClientHelloSelector selector) => _selector = selector;

    internal byte* AlpnWire => _alpnWire;

    internal uint AlpnWireLength { get; private set; }

    /// <summary>Attaches to an SSL whose handshake has not started; <see cref="Detach"/> before the SSL is freed.</summary>
    internal static ClientHelloSelection Attach(SafeSslHandle ssl, ClientHelloSelector selector)
    {
        var selection = new ClientHelloSelection(selector);
        selection._self = GCHandle.Alloc(selection);
        Interop.Crypto.ErrClearError();
        if (Interop.Ssl.SslSetExData(ssl, s_index, GCHandle.ToIntPtr(selection._self)) != 1)
        {
            selection._self.Free();
            throw Interop.Crypto.CreateOpenSslException("SSL_set_ex_data");
        }
        return selection;
    }

    internal static ClientHelloSelection? From(nint ssl)
    {
        nint handle = Interop.Ssl.SslGetExData(ssl, s_index);
        return handle == 0 ? null : GCHandle.FromIntPtr(handle).Target as ClientHelloSelection;
    }

    /// <summary>Asks the selector (again after a HelloRetryRequest: the second hello may differ); false when it refused.</summary>
    internal bool Select(nint ssl, out byte alert)
    {
        IReadOnlyList<string>? offer = _selector(ReadServerName(ssl), out alert, out ClientCertificatePolicy? clientCertificates);
        if (offer is null) return false;
        // Before libssl looks up a session and writes its flight: the CertificateRequest and the session's context follow it.
        if (clientCertificates is not null && !clientCertificates.Apply(ssl))
        {
            alert = Interop.Ssl.SSL_AD_INTERNAL_ERROR;
            return false;
        }
        byte[] wire = TlsServerContext.EncodeAlpn(offer);
        FreeAlpn();
        _alpnWire = (byte*)NativeMemory.Alloc((nuint)Math.Max(wire.Length, 1));
        wire.CopyTo(new Span<byte>(_alpnWire, wire.Length));
        AlpnWireLength = (uint)wire.Length;
        return true;
    }

    /// <summary>Under the SSL's lock, before it is freed: no callback can reach this object afterwards.</summary>
    internal void Detach(SafeSslHandle ssl)
    {
        if (!_self.IsAllocated) return;
        if (!ssl.IsClosed) Interop.Ssl.SslSetExData(ssl, s_index, 0);
        _self.Free();
        FreeAlpn();
    }

    /// <summary>
    /// The server name routes match, from the hello's own server_name body. One libssl is about to refuse (with its
    /// alert, right after this callback) is read as none: the refusal is libssl's, with the alert s_server sends.
    /// </summary>
    private static string? ReadServerName(nint ssl)
    {
        if (Interop.Ssl.SslClientHelloGet0Ext(ssl, ClientHelloExtensions.ServerNameType, out byte* data, out nuint length) != 1) return null;
        var body = new ReadOnlySpan<byte>(data, checked((int)length));
        return ClientHelloExtensions.ReadServerName(body, out ReadOnlySpan<byte> name) == ClientHelloError.None
            ? ClientHelloExtensions.RoutingName(name)
            : null;
    }

    private void FreeAlpn()
    {
        NativeMemory.Free(_alpnWire);
        _alpnWire = null;
        AlpnWireLength = 0;
    }

    private static int NewIndex()
    {
        int index = Interop.Crypto.CryptoGetExNewIndex(Interop.Ssl.CRYPTO_EX_INDEX_SSL, 0, 0, 0, 0, 0);
        return index >= 0 ? index : throw Interop.Crypto.CreateOpenSslException("CRYPTO_get_ex_new_index");
    }
}
