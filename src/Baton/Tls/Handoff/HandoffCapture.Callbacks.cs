using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Baton.Tls.Handoff;

/// <summary>The SSL_CTX keylog and msg callbacks that feed each connection's capture. They never throw.</summary>
internal sealed partial class HandoffCapture
{
    private static ReadOnlySpan<byte> ClientTrafficSecretLabel => "CLIENT_TRAFFIC_SECRET_0 "u8;

    private static ReadOnlySpan<byte> ServerTrafficSecretLabel => "SERVER_TRAFFIC_SECRET_0 "u8;

    /// <summary>
    /// Installs both callbacks on a context before any connection exists (SSL_new copies the msg callback).
    /// Connections without an attached capture pay one SSL_get_ex_data per record.
    /// </summary>
    internal static unsafe void InstallCallbacks(SafeSslContextHandle context)
    {
        delegate* unmanaged[Cdecl]<nint, byte*, void> keylog = &OnKeylogLine;
        delegate* unmanaged[Cdecl]<int, int, int, byte*, nuint, nint, nint, void> message = &OnMessage;
        Interop.Ssl.SslCtxSetKeylogCallback(context, (nint)keylog);
        Interop.Ssl.SslCtxSetMsgCallback(context, (nint)message);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnKeylogLine(nint ssl, byte* line)
    {
        try
        {
            if (line == null || From(ssl) is not HandoffCapture capture) return;
            capture.TakeSecret(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(line));
        }
        catch
        {
            // A lost secret makes the export refuse with MissingSecrets; nothing else to do here.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnMessage(int writeP, int version, int contentType, byte* buffer, nuint length, nint ssl, nint arg)
    {
        try
        {
            if (buffer == null || From(ssl) is not HandoffCapture capture) return;
            var bytes = new ReadOnlySpan<byte>(buffer, checked((int)length));
            if (writeP == 0 && contentType == Interop.Ssl.SSL3_RT_HANDSHAKE && bytes is [Interop.Ssl.SSL3_MT_CLIENT_HELLO, ..])
                capture.ClientHelloLength = bytes.Length;
            bool tls13 = Interop.Ssl.SslVersionRaw(ssl) == Interop.Ssl.TLS1_3_VERSION;
            if (writeP != 0) capture._write.Observe(contentType, bytes, tls13);
            else capture._read.Observe(contentType, bytes, tls13);
        }
        catch
        {
            // Counts left wrong make the export refuse (byte counts or epochs); never let an exception reach libssl.
        }
    }

    private static HandoffCapture? From(nint ssl)
    {
        nint handle = Interop.Ssl.SslGetExData(ssl, 0);
        return handle == 0 ? null : GCHandle.FromIntPtr(handle).Target as HandoffCapture;
    }

    /// <summary>"LABEL client_random secret": keeps the two TLS 1.3 application secrets, parsed straight from native memory.</summary>
    private void TakeSecret(ReadOnlySpan<byte> line)
    {
        byte[] destination;
        if (line.StartsWith(ClientTrafficSecretLabel)) destination = _clientTrafficSecret;
        else if (line.StartsWith(ServerTrafficSecretLabel)) destination = _serverTrafficSecret;
        else return;
        int space = line.LastIndexOf((byte)' ');
        int length = ParseHex(line[(space + 1)..], destination);
        if (destination == _clientTrafficSecret) _clientTrafficSecretLength = length;
        else _serverTrafficSecretLength = length;
    }

    /// <summary>Decodes hex into destination; returns the byte count, or 0 when the text is not hex of a fitting length.</summary>
    private static int ParseHex(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        if (hex.Length % 2 != 0 || hex.Length / 2 > destination.Length) return 0;
        for (int i = 0; i < hex.Length / 2; i++)
        {
            int high = HexValue(hex[2 * i]), low = HexValue(hex[2 * i + 1]);
            if ((high | low) < 0) return 0;
            destination[i] = (byte)(high << 4 | low);
        }
        return hex.Length / 2;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    internal partial struct DirectionState
    {
        /// <summary>
        /// OpenSSL reports each record's header (SSL3_RT_HEADER) before the message it carries. TLS 1.2: a
        /// ChangeCipherSpec record switches keys, so the Finished after it is sequence 0 (a received CCS is not
        /// reported as a message in OpenSSL 3.0, hence the header's type byte). TLS 1.3: Finished switches this
        /// direction to application keys, a KeyUpdate to the next secret; both are reported after their record.
        /// </summary>
        public void Observe(int contentType, ReadOnlySpan<byte> bytes, bool tls13)
        {
            if (contentType == Interop.Ssl.SSL3_RT_HEADER && bytes.Length == Interop.Ssl.SSL3_RT_HEADER_LENGTH)
            {
                Records++;
                RecordBytes += (ulong)(Interop.Ssl.SSL3_RT_HEADER_LENGTH + (bytes[3] << 8 | bytes[4]));
                if (!tls13 && bytes[0] == Interop.Ssl.SSL3_RT_CHANGE_CIPHER_SPEC) StartEpoch();
                else if (EpochStarted) Sequence++;
                return;
            }
            if (!tls13 || contentType != Interop.Ssl.SSL3_RT_HANDSHAKE || bytes.IsEmpty) return;
            if (bytes[0] == Interop.Ssl.SSL3_MT_FINISHED)
            {
                StartEpoch();
            }
            else if (bytes[0] == Interop.Ssl.SSL3_MT_KEY_UPDATE && EpochStarted)
            {
                Sequence = 0;
                KeyUpdates++;
            }
        }

        private void StartEpoch()
        {
            EpochStarted = true;
            Sequence = 0;
            KeyUpdates = 0;
        }
    }
}
