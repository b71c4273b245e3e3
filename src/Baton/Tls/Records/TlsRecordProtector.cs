using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Seals or opens the records of one direction with one EVP_CIPHER_CTX. The key is installed once per
/// epoch; each record only sets its nonce, and nothing is allocated per record.
/// </summary>
internal sealed unsafe class TlsRecordProtector : IDisposable
{
    /// <summary>Largest record we ever write: header, explicit nonce, 2^14 bytes, inner type, tag.</summary>
    internal const int MaxSealedRecord = TlsRecordLimits.HeaderLength + 8 + TlsRecordLimits.MaxPlaintext + 1 + TlsCipherSuiteInfo.TagLength;

    private readonly TlsCipherSuiteInfo _suite;
    private readonly bool _encrypt;
    private readonly SafeEvpCipherCtxHandle _ctx;
    private readonly byte[] _iv = new byte[TlsCipherSuiteInfo.NonceLength];

    public TlsRecordProtector(in TlsCipherSuiteInfo suite, bool encrypt, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ulong sequence)
    {
        _suite = suite;
        _encrypt = encrypt;
        Interop.Crypto.ErrClearError();
        _ctx = Interop.Crypto.EvpCipherCtxNew();
        if (_ctx.IsInvalid)
        {
            _ctx.Dispose();
            throw Interop.Crypto.CreateOpenSslException("EVP_CIPHER_CTX_new");
        }
        nint cipher = suite.Aead switch
        {
            TlsAead.Aes128Gcm => Interop.Crypto.EvpAes128Gcm(),
            TlsAead.Aes256Gcm => Interop.Crypto.EvpAes256Gcm(),
            _ => Interop.Crypto.EvpChaCha20Poly1305(),
        };
        Check(Interop.Crypto.EvpCipherInitEx(_ctx, cipher, 0, null, null, Direction), "EVP_CipherInit_ex");
        Check(Interop.Crypto.EvpCipherCtxCtrl(_ctx, Interop.Crypto.EVP_CTRL_AEAD_SET_IVLEN, TlsCipherSuiteInfo.NonceLength, null), "EVP_CIPHER_CTX_ctrl");
        Rekey(key, iv);
        Sequence = sequence;
    }

    /// <summary>Sequence number of the next record. Only benchmarks set it, to open the same record again.</summary>
    public ulong Sequence { get; set; }

    /// <summary>Ciphertext bytes a record adds to its content (header, explicit nonce, inner type, tag).</summary>
    public int Overhead => TlsRecordLimits.HeaderLength + _suite.ExplicitNonceLength + (_suite.IsTls13 ? 1 : 0) + TlsCipherSuiteInfo.TagLength;

    private int Direction => _encrypt ? Interop.Crypto.EVP_ENCRYPT : Interop.Crypto.EVP_DECRYPT;

    /// <summary>Installs a new key/IV (a new epoch: TLS 1.3 KeyUpdate) and restarts the sequence at 0.</summary>
    public void Rekey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv)
    {
        if (key.Length != _suite.KeyLength || iv.Length != _suite.IvLength) throw new ArgumentException("key/iv length does not match the suite");
        iv.CopyTo(_iv);
        fixed (byte* k = key)
        {
            Interop.Crypto.ErrClearError();
            Check(Interop.Crypto.EvpCipherInitEx(_ctx, 0, 0, k, null, Direction), "EVP_CipherInit_ex");
        }
        Sequence = 0;
    }

    /// <summary>
    /// Writes one complete record (header included) carrying content of the given type into destination,
    /// which must hold content.Length + Overhead bytes and must not overlap content. Returns the record length.
    /// </summary>
    public int Seal(TlsContentType type, ReadOnlySpan<byte> content, Span<byte> destination)
    {
        Span<byte> body = BeginSeal(type, content.Length, destination, out int recordLength);
        EncryptPiece(content, body);
        FinishSeal(type, body[content.Length..]);
        return recordLength;
    }

    /// <summary>
    /// <see cref="Seal(TlsContentType, ReadOnlySpan{byte}, Span{byte})"/> for content in pieces (a pipe's
    /// segments): each piece is encrypted straight from where it lies, without gathering it first.
    /// </summary>
    public int Seal(TlsContentType type, in ReadOnlySequence<byte> content, Span<byte> destination)
    {
        int length = checked((int)content.Length);
        Span<byte> body = BeginSeal(type, length, destination, out int recordLength);
        int done = 0;
        foreach (ReadOnlyMemory<byte> piece in content)
        {
            EncryptPiece(piece.Span, body[done..]);
            done += piece.Length;
        }
        FinishSeal(type, body[length..]);
        return recordLength;
    }

    /// <summary>Writes the header, sets the record's nonce, feeds the AAD; returns where the ciphertext goes.</summary>
    private Span<byte> BeginSeal(TlsContentType type, int contentLength, Span<byte> destination, out int recordLength)
    {
        if (contentLength > TlsRecordLimits.MaxPlaintext) throw new ArgumentOutOfRangeException(nameof(contentLength));
        if (Sequence == ulong.MaxValue) throw new InvalidOperationException("record sequence number exhausted");
        bool tls13 = _suite.IsTls13;
        int explicitNonce = _suite.ExplicitNonceLength;
        int sealedLength = explicitNonce + contentLength + (tls13 ? 1 : 0) + TlsCipherSuiteInfo.TagLength;
        recordLength = TlsRecordLimits.HeaderLength + sealedLength;
        Span<byte> record = destination[..recordLength];
        record[0] = (byte)(tls13 ? TlsContentType.ApplicationData : type);
        BinaryPrimitives.WriteUInt16BigEndian(record[1..], TlsCipherSuiteInfo.Tls12);
        BinaryPrimitives.WriteUInt16BigEndian(record[3..], (ushort)sealedLength);

        Span<byte> nonce = stackalloc byte[TlsCipherSuiteInfo.NonceLength];
        Span<byte> aad = stackalloc byte[13];
        int aadLength = BuildNonceAndAad(record, (byte)type, contentLength, nonce, aad);
        if (explicitNonce != 0) nonce[4..].CopyTo(record[TlsRecordLimits.HeaderLength..]);
        fixed (byte* n = nonce)
        fixed (byte* a = aad)
        {
            // No ERR_clear_error per record (it costs ~175 ns in OpenSSL 3.0, a quarter of a small record): success is
            // decided by return codes, failures drain the queue into their exception, and TryOpen clears after a bad tag.
            Check(Interop.Crypto.EvpCipherInitEx(_ctx, 0, 0, null, n, Interop.Crypto.EVP_ENCRYPT), "EVP_CipherInit_ex");
            Check(Interop.Crypto.EvpCipherUpdate(_ctx, null, out _, a, aadLength), "EVP_CipherUpdate");
        }
        return record[(TlsRecordLimits.HeaderLength + explicitNonce)..];
    }

    /// <summary>GCM and ChaCha20-Poly1305 are stream modes: pieces of any length encrypt to the same bytes as the whole.</summary>
    private void EncryptPiece(ReadOnlySpan<byte> piece, Span<byte> output)
    {
        if (piece.IsEmpty) return;
        fixed (byte* input = piece)
        fixed (byte* o = output)
        {
            Check(Interop.Crypto.EvpCipherUpdate(_ctx, o, out _, input, piece.Length), "EVP_CipherUpdate");
        }
    }

    /// <summary>Appends TLS 1.3's inner content type, finishes the AEAD, writes the tag; advances the sequence.</summary>
    private void FinishSeal(TlsContentType type, Span<byte> tail)
    {
        fixed (byte* output = tail)
        {
            int length = 0;
            if (_suite.IsTls13)
            {
                // TLSInnerPlaintext = content ‖ type, no padding.
                byte innerType = (byte)type;
                Check(Interop.Crypto.EvpCipherUpdate(_ctx, output, out _, &innerType, 1), "EVP_CipherUpdate");
                length = 1;
            }
            Check(Interop.Crypto.EvpEncryptFinalEx(_ctx, output + length, out _), "EVP_EncryptFinal_ex");
            Check(Interop.Crypto.EvpCipherCtxCtrl(_ctx, Interop.Crypto.EVP_CTRL_AEAD_GET_TAG, TlsCipherSuiteInfo.TagLength, output + length), "EVP_CIPHER_CTX_ctrl");
        }
        Sequence++;
    }

    /// <summary>
    /// Decrypts one complete record (header included) in place. On success the content is
    /// record[contentOffset..(contentOffset + contentLength)] and type is the (inner, for TLS 1.3) content type.
    /// On failure returns the alert to send. The caller has already checked the header's length bound.
    /// </summary>
    public bool TryOpen(Span<byte> record, out TlsContentType type, out int contentOffset, out int contentLength, out TlsAlertDescription alert)
    {
        type = default;
        contentOffset = TlsRecordLimits.HeaderLength + _suite.ExplicitNonceLength;
        contentLength = 0;
        alert = TlsAlertDescription.BadRecordMac;
        int cipherLength = record.Length - contentOffset - TlsCipherSuiteInfo.TagLength;
        if (cipherLength < (_suite.IsTls13 ? 1 : 0)) return false;
        if (Sequence == ulong.MaxValue) return Fail(TlsAlertDescription.UnexpectedMessage, out alert);

        Span<byte> nonce = stackalloc byte[TlsCipherSuiteInfo.NonceLength];
        Span<byte> aad = stackalloc byte[13];
        int aadLength = BuildNonceAndAad(record, record[0], cipherLength, nonce, aad);
        if (_suite.ExplicitNonceLength != 0) record.Slice(TlsRecordLimits.HeaderLength, 8).CopyTo(nonce[4..]);

        Span<byte> body = record[contentOffset..];
        fixed (byte* n = nonce)
        fixed (byte* a = aad)
        fixed (byte* data = body)
        {
            Check(Interop.Crypto.EvpCipherInitEx(_ctx, 0, 0, null, n, Interop.Crypto.EVP_DECRYPT), "EVP_CipherInit_ex");
            Check(Interop.Crypto.EvpCipherUpdate(_ctx, null, out _, a, aadLength), "EVP_CipherUpdate");
            if (cipherLength > 0) Check(Interop.Crypto.EvpCipherUpdate(_ctx, data, out _, data, cipherLength), "EVP_CipherUpdate");
            Check(Interop.Crypto.EvpCipherCtxCtrl(_ctx, Interop.Crypto.EVP_CTRL_AEAD_SET_TAG, TlsCipherSuiteInfo.TagLength, data + cipherLength), "EVP_CIPHER_CTX_ctrl");
            if (Interop.Crypto.EvpDecryptFinalEx(_ctx, data + cipherLength, out _) != 1)
            {
                Interop.Crypto.ErrClearError(); // a failed tag check may queue an error nobody reads
                return false;
            }
        }
        Sequence++;
        return _suite.IsTls13
            ? TryStripInnerPlaintext(body[..cipherLength], out type, out contentLength, out alert)
            : CheckTls12Plaintext(record[0], cipherLength, out type, out contentLength, out alert);
    }

    public void Dispose()
    {
        _ctx.Dispose();
        CryptographicOperations.ZeroMemory(_iv);
    }

    /// <summary>Nonce and AAD of the record at Sequence; returns the AAD length.</summary>
    private int BuildNonceAndAad(ReadOnlySpan<byte> header, byte type, int plaintextLength, Span<byte> nonce, Span<byte> aad)
    {
        if (_suite.ExplicitNonceLength != 0)
        {
            // TLS 1.2 GCM: salt ‖ explicit nonce; we send the sequence number as the explicit part.
            _iv.AsSpan(0, 4).CopyTo(nonce);
            BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], Sequence);
        }
        else
        {
            _iv.CopyTo(nonce);
            ulong iv = BinaryPrimitives.ReadUInt64BigEndian(nonce[4..]);
            BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], iv ^ Sequence);
        }
        if (_suite.IsTls13)
        {
            header[..TlsRecordLimits.HeaderLength].CopyTo(aad);
            return TlsRecordLimits.HeaderLength;
        }
        // TLS 1.2: seq_num ‖ type ‖ version ‖ plaintext length.
        BinaryPrimitives.WriteUInt64BigEndian(aad, Sequence);
        aad[8] = type;
        BinaryPrimitives.WriteUInt16BigEndian(aad[9..], TlsCipherSuiteInfo.Tls12);
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintextLength);
        return 13;
    }

    private static bool TryStripInnerPlaintext(ReadOnlySpan<byte> inner, out TlsContentType type, out int length, out TlsAlertDescription alert)
    {
        int last = inner.LastIndexOfAnyExcept((byte)0);
        type = default;
        length = 0;
        // RFC 8446 §5.4: an inner plaintext of only zeros has no content type.
        if (last < 0) return Fail(TlsAlertDescription.UnexpectedMessage, out alert);
        if (last > TlsRecordLimits.MaxPlaintext || inner.Length > TlsRecordLimits.MaxPlaintext + 1) return Fail(TlsAlertDescription.RecordOverflow, out alert);
        type = (TlsContentType)inner[last];
        length = last;
        alert = default;
        return true;
    }

    private static bool CheckTls12Plaintext(byte outerType, int length, out TlsContentType type, out int contentLength, out TlsAlertDescription alert)
    {
        type = (TlsContentType)outerType;
        contentLength = length;
        alert = default;
        return length <= TlsRecordLimits.MaxPlaintext || Fail(TlsAlertDescription.RecordOverflow, out alert);
    }

    private static bool Fail(TlsAlertDescription description, out TlsAlertDescription alert)
    {
        alert = description;
        return false;
    }

    private static void Check(int result, string call)
    {
        if (result != 1) throw Interop.Crypto.CreateOpenSslException(call);
    }
}
