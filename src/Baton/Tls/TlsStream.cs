using System.Buffers;
using System.Net.Security;
using System.Security.Authentication;
using Baton.IO;

namespace Baton.Tls;

/// <summary>
/// The one stream type the worker's transport sees, whoever runs the TLS records: the worker's own OpenSSL
/// session (passthrough, <see cref="OpenSslStream"/>) or the continued session (handoff: the user-space or the
/// kernel record layer). It reads and writes plaintext and says what was negotiated.
/// </summary>
internal abstract class TlsStream : DuplexStream
{
    /// <summary>One full TLS record of plaintext: the unit <see cref="WriteAsync(ReadOnlySequence{byte}, CancellationToken)"/> gathers small segments into.</summary>
    private const int RecordPlaintext = 16 * 1024;

    /// <summary>0x0303 (TLS 1.2) or 0x0304 (TLS 1.3).</summary>
    public abstract ushort ProtocolVersion { get; }

    /// <summary>The IANA cipher suite id, e.g. 0x1301.</summary>
    public abstract ushort CipherSuite { get; }

    /// <summary>The SNI host name the client sent, or null.</summary>
    public string? ServerName { get; internal set; }

    /// <summary>The negotiated ALPN protocol, or null when none was agreed.</summary>
    public string? ApplicationProtocol { get; internal set; }

    /// <summary>The client's certificate (DER), then the chain it sent with it; empty when it sent none or none was asked for.</summary>
    public IReadOnlyList<byte[]> ClientCertificateChain { get; internal set; } = [];

    /// <summary>True once a read ended because the peer reset the connection; reads then return 0 as at end of stream.</summary>
    public abstract override bool ResetByPeer { get; }

    /// <summary>OpenSSL's name of the version, e.g. "TLSv1.3".</summary>
    public string ProtocolName => TlsNames.Protocol(ProtocolVersion);

    /// <summary>OpenSSL's name of the suite, e.g. "TLS_AES_128_GCM_SHA256".</summary>
    public string CipherSuiteName => TlsNames.CipherSuite(CipherSuite);

    /// <summary>The version as .NET names it (Kestrel's ITlsHandshakeFeature).</summary>
    public SslProtocols SslProtocol => ProtocolVersion switch
    {
        0x0304 => SslProtocols.Tls13,
        0x0303 => SslProtocols.Tls12,
        _ => SslProtocols.None,
    };

    /// <summary>The suite as .NET names it.</summary>
    public TlsCipherSuite NegotiatedCipherSuite => (TlsCipherSuite)CipherSuite;

    /// <summary>Sends close_notify (once). Does not wait for the peer's; reading goes on until it arrives.</summary>
    public abstract Task ShutdownAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a gathered buffer (a pipe's segments). Each stream write becomes at least one record and one send,
    /// so by default small segments are gathered into whole-record writes: a 1 MiB response is 64 records, not
    /// 256. A layer that seals straight from the segments overrides this.
    /// </summary>
    public virtual async ValueTask WriteAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsSingleSegment)
        {
            await WriteAsync(buffer.First, cancellationToken).ConfigureAwait(false);
            return;
        }
        byte[] scratch = ArrayPool<byte>.Shared.Rent(RecordPlaintext);
        try
        {
            while (!buffer.IsEmpty)
            {
                ReadOnlyMemory<byte> first = buffer.First;
                if (first.Length >= RecordPlaintext)
                {
                    await WriteAsync(first, cancellationToken).ConfigureAwait(false);
                    buffer = buffer.Slice(first.Length);
                    continue;
                }
                int length = (int)Math.Min(RecordPlaintext, buffer.Length);
                buffer.Slice(0, length).CopyTo(scratch);
                await WriteAsync(scratch.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                buffer = buffer.Slice(length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
