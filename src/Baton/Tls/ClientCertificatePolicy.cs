using System.Text;
using Baton.Channel;
using Baton.Configuration;

namespace Baton.Tls;

/// <summary>
/// One client-certificate setting, ready for libssl: a trust store with the CAs (and the CRLs, checked for every
/// certificate of the chain, as nginx's ssl_crl), the CA names the server's CertificateRequest lists, the verify mode and
/// depth. <see cref="Apply"/> sets it on one SSL before its ClientHello is processed (the handoff front: in the ClientHello
/// callback, once SNI chose the route; a passthrough worker: before the handshake). The front and a passthrough worker
/// build it from the same <see cref="ClientCertificateMaterial"/>, so both verify the same way. Thread-safe after creation.
/// </summary>
internal sealed unsafe class ClientCertificatePolicy : IDisposable
{
    private readonly SafeX509StoreHandle _store;
    private readonly SafeX509NameStackHandle _caNames;
    private readonly int _verifyMode;
    private readonly int _verifyDepth;
    // Sessions resume only under the setting that made them: a session from a listener that asks for no certificate must
    // not resume where one is required (OpenSSL compares the context when it resumes a session or ticket).
    private readonly byte[] _sessionIdContext;

    private ClientCertificatePolicy(SafeX509StoreHandle store, SafeX509NameStackHandle caNames, ClientCertificateMode mode, int depth, int number)
    {
        _store = store;
        _caNames = caNames;
        _verifyMode = mode == ClientCertificateMode.Required
            ? Interop.Ssl.SSL_VERIFY_PEER | Interop.Ssl.SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            : Interop.Ssl.SSL_VERIFY_PEER;
        _verifyDepth = depth;
        _sessionIdContext = Encoding.ASCII.GetBytes($"baton/client-certificates/{number}");
        Mode = mode;
    }

    public ClientCertificateMode Mode { get; }

    /// <summary>Parses the CAs and CRLs (throws <see cref="Interop.OpenSslException"/> or ArgumentException when they do not parse).</summary>
    /// <param name="number">The setting's number (from 1), which keeps its sessions apart from every other setting's.</param>
    public static ClientCertificatePolicy Create(ClientCertificateMaterial material, int number)
    {
        if (material.Problem() is string problem) throw new ArgumentException(problem, nameof(material));
        Interop.Crypto.ErrClearError();
        SafeX509StoreHandle store = Interop.Crypto.X509StoreNew();
        SafeX509NameStackHandle names = Interop.Crypto.SkNewNullNames();
        try
        {
            if (store.IsInvalid || names.IsInvalid) throw Interop.Crypto.CreateOpenSslException("X509_STORE_new");
            int authorities = ReadEach(material.TrustedCaPem, bio => AddAuthority(store, names, bio));
            if (authorities == 0) throw new ArgumentException("the trusted CA files hold no certificate");
            if (material.CrlPem.Length > 0)
            {
                if (ReadEach(material.CrlPem, bio => AddCrl(store, bio)) == 0) throw new ArgumentException("the CRL file holds no CRL");
                Interop.Crypto.X509StoreSetFlags(store, Interop.Crypto.X509_V_FLAG_CRL_CHECK | Interop.Crypto.X509_V_FLAG_CRL_CHECK_ALL);
            }
            return new ClientCertificatePolicy(store, names, material.Mode, material.VerifyDepth, number);
        }
        catch
        {
            store.Dispose();
            names.Dispose();
            throw;
        }
    }

    /// <summary>Sets the verification on <paramref name="ssl"/> (raw: also called from libssl's ClientHello callback); false when libssl refused.</summary>
    internal bool Apply(nint ssl)
    {
        Interop.Ssl.SslSetVerify(ssl, _verifyMode, 0);
        Interop.Ssl.SslSetVerifyDepth(ssl, _verifyDepth);
        if (Interop.Ssl.SslCtrl(ssl, Interop.Ssl.SSL_CTRL_SET_VERIFY_CERT_STORE, 1, _store.DangerousGetHandle()) != 1) return false;
        nint names = Interop.Ssl.SslDupCaList(_caNames);
        if (names == 0) return false;
        Interop.Ssl.SslSetClientCaList(ssl, names);
        fixed (byte* context = _sessionIdContext)
        {
            return Interop.Ssl.SslSetSessionIdContext(ssl, context, (uint)_sessionIdContext.Length) == 1;
        }
    }

    /// <summary>Calls <paramref name="add"/> for each PEM block until none is left; returns how many it added.</summary>
    private static int ReadEach(byte[] pem, Func<SafeBioHandle, bool> add)
    {
        fixed (byte* bytes = pem)
        {
            using SafeBioHandle bio = LoadedCertificate.NewReadOnlyBio(bytes, pem.Length);
            int count = 0;
            while (true)
            {
                Interop.Crypto.ErrClearError();
                if (!add(bio))
                {
                    if (!Interop.Crypto.LastErrorIsPemNoStartLine()) throw Interop.Crypto.CreateOpenSslException("PEM_read_bio (client CA or CRL)");
                    Interop.Crypto.ErrClearError();
                    return count;
                }
                count++;
            }
        }
    }

    private static bool AddAuthority(SafeX509StoreHandle store, SafeX509NameStackHandle names, SafeBioHandle bio)
    {
        fixed (byte* noPassword = "\0"u8)
        {
            using SafeX509Handle certificate = Interop.Crypto.PemReadBioX509(bio, 0, 0, (nint)noPassword);
            if (certificate.IsInvalid) return false;
            if (Interop.Crypto.X509StoreAddCert(store, certificate) != 1) throw Interop.Crypto.CreateOpenSslException("X509_STORE_add_cert");
            nint name = Interop.Crypto.X509NameDup(Interop.Crypto.X509GetSubjectName(certificate));
            if (name == 0 || Interop.Crypto.SkPushName(names, name) == 0)
            {
                Interop.Crypto.X509NameFree(name);
                throw Interop.Crypto.CreateOpenSslException("X509_NAME_dup");
            }
            return true;
        }
    }

    private static bool AddCrl(SafeX509StoreHandle store, SafeBioHandle bio)
    {
        fixed (byte* noPassword = "\0"u8)
        {
            using SafeX509CrlHandle crl = Interop.Crypto.PemReadBioX509Crl(bio, 0, 0, (nint)noPassword);
            if (crl.IsInvalid) return false;
            if (Interop.Crypto.X509StoreAddCrl(store, crl) != 1) throw Interop.Crypto.CreateOpenSslException("X509_STORE_add_crl");
            return true;
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _caNames.Dispose();
    }
}
