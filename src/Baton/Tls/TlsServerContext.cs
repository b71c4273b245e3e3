using System.Text;

namespace Baton.Tls;

/// <summary>
/// An SSL_CTX configured with Baton's server defaults and its certificates. Thread-safe; one per listener
/// (or per worker). Disposing it is safe while connections are open: they keep the native context alive.
/// </summary>
internal sealed class TlsServerContext : IDisposable
{
    // TLS 1.2: ECDHE + AEAD only, server preference order. TLS 1.3: the three standard AEAD suites. Internal so
    // the tests give `openssl s_server` the same policy when they compare the two.
    internal const string Tls12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" +
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    internal const string Tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

    /// <summary>ECDHE only, on these groups (no finite-field DHE: no DHE suites are enabled either).</summary>
    internal const string Groups = "X25519:P-256:P-384";

    private readonly SafeSslContextHandle _handle;

    private TlsServerContext(SafeSslContextHandle handle) => _handle = handle;

    /// <summary>
    /// The SSL_CTX, for the handoff code to install its own callbacks (keylog, msg). It is the only SSL_CTX: SNI
    /// certificates are installed per SSL, so callbacks set here apply to every connection.
    /// </summary>
    internal SafeSslContextHandle Handle => _handle;

    public static TlsServerContext Create(TlsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Certificates.Count == 0) throw new ArgumentException("At least one certificate is required.", nameof(options));
        if (options.ApplicationProtocolsPerConnection && options.ApplicationProtocols.Count > 0)
            throw new ArgumentException("ALPN is either the context's or each connection's.", nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.SessionTicketCount);
        byte[] alpnWire = EncodeAlpn(options.ApplicationProtocols);

        TlsContextState state = LoadCertificates(options.Certificates, alpnWire, options.Logger);
        SafeSslContextHandle handle;
        try
        {
            handle = NewContext();
        }
        catch
        {
            state.Dispose();
            throw;
        }
        nint stateArg = handle.SetCallbackState(state);
        try
        {
            ApplyDefaults(handle, options.SessionTicketCount);
            options.ContextSetup?.Invoke(handle);
            if (options.SessionTicketKeys is not null) TicketKeyCallbacks.Install(handle, options.SessionTicketKeys);
            InstallCertificates(handle, state, stateArg, multiple: options.Certificates.Count > 1);
            if (state.Staples.Count > 0) InstallOcspStapling(handle, stateArg);
            if (options.ApplicationProtocolsPerConnection) InstallPerConnectionAlpn(handle);
            else if (alpnWire.Length > 0) InstallAlpn(handle, stateArg);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return new TlsServerContext(handle);
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// Keeps the context usable for one connection that will create its SSL later, even if the context is replaced and
    /// disposed meanwhile (a worker's reload); pair with <see cref="Release"/> once the SSL exists (it holds its own reference).
    /// </summary>
    internal void AddRef()
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
    }

    internal void Release() => _handle.DangerousRelease();

    private static TlsContextState LoadCertificates(IList<TlsCertificate> certificates, byte[] alpnWire, Microsoft.Extensions.Logging.ILogger? logger)
    {
        var loaded = new List<LoadedCertificate>(certificates.Count);
        var selector = new CertificateSelector();
        var staples = new Dictionary<nint, OcspStaple>();
        try
        {
            foreach (TlsCertificate certificate in certificates)
            {
                LoadedCertificate entry = LoadedCertificate.Load(certificate.CertificateChainPem.Span, certificate.PrivateKeyPem.Span);
                loaded.Add(entry);
                foreach (string name in certificate.ServerNames) selector.Add(name, entry);
                if (certificate.Ocsp is OcspResponseSource source)
                    staples[entry.Certificate.DangerousGetHandle()] = new OcspStaple(entry, certificate.ServerNames.FirstOrDefault() ?? "the certificate", source, logger);
            }
        }
        catch
        {
            foreach (LoadedCertificate entry in loaded) entry.Dispose();
            throw;
        }
        return new TlsContextState(loaded, selector, alpnWire, staples);
    }

    private static SafeSslContextHandle NewContext()
    {
        Interop.Crypto.ErrClearError();
        SafeSslContextHandle handle = Interop.Ssl.SslCtxNew(Interop.Ssl.TlsServerMethod());
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw Interop.Crypto.CreateOpenSslException("SSL_CTX_new");
        }
        return handle;
    }

    private static unsafe void ApplyDefaults(SafeSslContextHandle ctx, int ticketCount)
    {
        Interop.Crypto.ErrClearError();
        Check(Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_MIN_PROTO_VERSION, Interop.Ssl.TLS1_2_VERSION, 0) == 1, "SSL_CTX_set_min_proto_version");
        // Read-ahead off (already OpenSSL's default, set explicitly because handoff depends on it): OpenSSL then takes
        // exactly one record at a time from the read BIO, so unprocessed bytes stay there and can travel to a worker.
        Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_READ_AHEAD, 0, 0);
        Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_SESS_CACHE_MODE, (nint)Interop.Ssl.SSL_SESS_CACHE_SERVER, 0);
        // libssl frees its record buffers (about 34 KiB) while a connection has nothing in flight, as nginx has it do:
        // most of what an idle passthrough connection would otherwise hold.
        Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_MODE, (nint)Interop.Ssl.SSL_MODE_RELEASE_BUFFERS, 0);
        Interop.Ssl.SslCtxSetOptions(ctx,
            Interop.Ssl.SSL_OP_NO_RENEGOTIATION | Interop.Ssl.SSL_OP_NO_COMPRESSION | Interop.Ssl.SSL_OP_CIPHER_SERVER_PREFERENCE);
        Check(Interop.Ssl.SslCtxSetCipherList(ctx, Tls12CipherList) == 1, "SSL_CTX_set_cipher_list");
        Check(Interop.Ssl.SslCtxSetCipherSuites(ctx, Tls13CipherSuites) == 1, "SSL_CTX_set_ciphersuites");
        fixed (byte* groups = Encoding.ASCII.GetBytes(Groups + "\0"))
        {
            Check(Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_GROUPS_LIST, 0, (nint)groups) == 1, "SSL_CTX_set1_groups_list");
        }
        Check(Interop.Ssl.SslCtxSetMaxEarlyData(ctx, 0) == 1, "SSL_CTX_set_max_early_data");
        Check(Interop.Ssl.SslCtxSetNumTickets(ctx, (nuint)ticketCount) == 1, "SSL_CTX_set_num_tickets");
        fixed (byte* id = "baton"u8)
        {
            Check(Interop.Ssl.SslCtxSetSessionIdContext(ctx, id, 5) == 1, "SSL_CTX_set_session_id_context");
        }
    }

    private static unsafe void InstallCertificates(SafeSslContextHandle ctx, TlsContextState state, nint stateArg, bool multiple)
    {
        LoadedCertificate first = state.DefaultCertificate;
        Interop.Crypto.ErrClearError();
        Check(Interop.Ssl.SslCtxUseCertAndKey(ctx, first.Certificate, first.Key, first.Chain, 1) == 1, "SSL_CTX_use_cert_and_key");
        if (!multiple) return;
        Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, stateArg);
        delegate* unmanaged[Cdecl]<nint, int*, nint, int> callback = &TlsContextCallbacks.SelectCertificate;
        Interop.Ssl.SslCtxCallbackCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, (nint)callback);
    }

    /// <summary>libssl asks for the staple of the certificate SNI picked, when the client sent status_request.</summary>
    private static unsafe void InstallOcspStapling(SafeSslContextHandle ctx, nint stateArg)
    {
        Interop.Ssl.SslCtxCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB_ARG, 0, stateArg);
        delegate* unmanaged[Cdecl]<nint, nint, int> callback = &TlsContextCallbacks.StapleOcspResponse;
        Interop.Ssl.SslCtxCallbackCtrl(ctx, Interop.Ssl.SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB, (nint)callback);
    }

    private static unsafe void InstallAlpn(SafeSslContextHandle ctx, nint stateArg)
    {
        delegate* unmanaged[Cdecl]<nint, byte**, byte*, byte*, uint, nint, int> callback = &TlsContextCallbacks.SelectApplicationProtocol;
        Interop.Ssl.SslCtxSetAlpnSelectCb(ctx, (nint)callback, stateArg);
    }

    /// <summary>Both callbacks ask the connection's <see cref="ClientHelloSelection"/>: the first chooses, the second answers ALPN with it.</summary>
    private static unsafe void InstallPerConnectionAlpn(SafeSslContextHandle ctx)
    {
        delegate* unmanaged[Cdecl]<nint, int*, nint, int> hello = &TlsContextCallbacks.SelectForConnection;
        delegate* unmanaged[Cdecl]<nint, byte**, byte*, byte*, uint, nint, int> alpn = &TlsContextCallbacks.SelectConnectionApplicationProtocol;
        Interop.Ssl.SslCtxSetClientHelloCb(ctx, (nint)hello, 0);
        Interop.Ssl.SslCtxSetAlpnSelectCb(ctx, (nint)alpn, 0);
    }

    /// <summary>ALPN wire format: each protocol as a length byte followed by its bytes.</summary>
    internal static byte[] EncodeAlpn(IEnumerable<string> protocols)
    {
        var wire = new List<byte>();
        foreach (string protocol in protocols)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(protocol);
            if (bytes.Length is 0 or > 255) throw new ArgumentException($"Invalid ALPN protocol '{protocol}'.");
            wire.Add((byte)bytes.Length);
            wire.AddRange(bytes);
        }
        return wire.ToArray();
    }

    private static void Check(bool ok, string call)
    {
        if (!ok) throw Interop.Crypto.CreateOpenSslException(call);
    }
}
