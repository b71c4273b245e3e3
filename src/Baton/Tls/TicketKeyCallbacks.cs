using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Baton.Tls;

/// <summary>
/// Installs a <see cref="TicketKeyRing"/> on an SSL_CTX: the ring is reached from the ticket key callback through
/// SSL_CTX ex_data, under an index whose free function releases the GCHandle when OpenSSL frees the context.
/// Tickets are AES-256-CBC + HMAC-SHA256, as with OpenSSL's own keys and nginx's 80-byte key files.
/// </summary>
internal static unsafe class TicketKeyCallbacks
{
    private const int NameLength = 16;
    private const int HmacOffset = 16;
    private const int AesOffset = 48;
    private const int IvLength = 16;

    private static readonly Lazy<int> RingIndex = new(RegisterIndex);

    internal static void Install(SafeSslContextHandle context, TicketKeyRing ring)
    {
        int index = RingIndex.Value;
        GCHandle handle = GCHandle.Alloc(ring);
        Interop.Crypto.ErrClearError();
        if (Interop.Ssl.SslCtxSetExData(context, index, GCHandle.ToIntPtr(handle)) != 1)
        {
            handle.Free();
            throw Interop.Crypto.CreateOpenSslException("SSL_CTX_set_ex_data");
        }
        // From here the free function owns the handle.
        delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint, nint, int, int> callback = &OnTicketKey;
        if (Interop.Ssl.SslCtxSetTicketKeyEvpCallback(context, (nint)callback) != 1)
        {
            throw Interop.Crypto.CreateOpenSslException("SSL_CTX_set_tlsext_ticket_key_evp_cb");
        }
    }

    private static int RegisterIndex()
    {
        delegate* unmanaged[Cdecl]<nint, nint, nint, int, nint, nint, void> free = &OnContextFreed;
        Interop.Crypto.ErrClearError();
        int index = Interop.Crypto.CryptoGetExNewIndex(Interop.Ssl.CRYPTO_EX_INDEX_SSL_CTX, 0, 0, 0, 0, (nint)free);
        return index >= 0 ? index : throw Interop.Crypto.CreateOpenSslException("CRYPTO_get_ex_new_index");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnContextFreed(nint parent, nint pointer, nint exData, int index, nint argl, nint argp)
    {
        try
        {
            if (pointer != 0) GCHandle.FromIntPtr(pointer).Free();
        }
        catch (InvalidOperationException)
        {
            // Not a handle of ours: nothing to free, and an exception must not unwind into OpenSSL.
        }
    }

    /// <summary>
    /// enc = 1: fill in name and IV and set up encryption with the current key. enc = 0: find the named key, and ask
    /// for a new ticket (renew) when the ticket is under an older key or, in TLS 1.3, always: OpenSSL with its own keys
    /// sends one ticket after every TLS 1.3 resumption (SSL_CTX_set_num_tickets(3)), and "valid, do not renew" would
    /// send none, so a client that keeps resuming falls back to a full handshake once its first ticket expires.
    /// A TLS 1.2 ticket under the current key is kept, as OpenSSL and nginx do.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnTicketKey(nint ssl, byte* keyName, byte* iv, nint cipherContext, nint macContext, int encrypt)
    {
        byte* material = stackalloc byte[TicketKeyRing.KeyEntryLength];
        var materialSpan = new Span<byte>(material, TicketKeyRing.KeyEntryLength);
        try
        {
            nint ringHandle = Interop.Ssl.SslCtxGetExData(Interop.Ssl.SslGetSslCtx(ssl), RingIndex.Value);
            if (ringHandle == 0 || GCHandle.FromIntPtr(ringHandle).Target is not TicketKeyRing ring) return Interop.Ssl.TicketKeyError;
            bool isCurrent = true;
            if (encrypt != 0)
            {
                ring.CopyEncryptionKey(materialSpan);
                new ReadOnlySpan<byte>(material, NameLength).CopyTo(new Span<byte>(keyName, NameLength));
                if (Interop.Crypto.RandBytes(iv, IvLength) != 1) return Interop.Ssl.TicketKeyError;
            }
            else if (!ring.TryCopyKey(new ReadOnlySpan<byte>(keyName, NameLength), materialSpan, out isCurrent))
            {
                return Interop.Ssl.TicketKeyNotFound; // unknown key: full handshake
            }
            if (!SetHmacKey(macContext, material + HmacOffset)) return Interop.Ssl.TicketKeyError;
            if (Interop.Crypto.EvpCipherInitExRaw(cipherContext, Interop.Crypto.EvpAes256Cbc(), 0, material + AesOffset, iv, encrypt) != 1)
            {
                return Interop.Ssl.TicketKeyError;
            }
            return encrypt != 0 || (isCurrent && Interop.Ssl.SslVersionRaw(ssl) != Interop.Ssl.TLS1_3_VERSION)
                ? Interop.Ssl.TicketKeyOk
                : Interop.Ssl.TicketKeyOkRenew;
        }
        catch
        {
            return Interop.Ssl.TicketKeyError;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(materialSpan);
        }
    }

    private static bool SetHmacKey(nint macContext, byte* hmacKey)
    {
        Interop.Crypto.OsslParam* parameters = stackalloc Interop.Crypto.OsslParam[3];
        fixed (byte* keyName = "key\0"u8)
        fixed (byte* digestName = "digest\0"u8)
        fixed (byte* sha256 = "SHA256\0"u8)
        {
            parameters[0] = Interop.Crypto.OsslParamConstructOctetString(keyName, hmacKey, 32);
            parameters[1] = Interop.Crypto.OsslParamConstructUtf8String(digestName, sha256, 0);
            parameters[2] = Interop.Crypto.OsslParamConstructEnd();
            return Interop.Crypto.EvpMacCtxSetParams(macContext, parameters) == 1;
        }
    }
}
