using System.Buffers;
using System.Net.Sockets;
using Baton.IO;
using Baton.Inspection;

namespace Baton.Front;

/// <summary>
/// Reads what the front needs before routing, each step bounded in bytes and time: an optional
/// PROXY header (consumed: the worker must not see it) and the ClientHello (only peeked: the TLS
/// stack that runs the handshake must see it whole).
/// </summary>
internal static class ConnectionInspector
{
    /// <summary>Peeks until a complete PROXY header is queued, then consumes exactly its bytes.</summary>
    public static async Task<ProxyHeader> ReadProxyHeaderAsync(PolledSocket socket, TimeSpan timeout, CancellationToken stopping)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ProxyProtocolParser.DefaultMaxV2Bytes);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            Memory<byte> window = buffer.AsMemory(0, ProxyProtocolParser.DefaultMaxV2Bytes);
            int seen = 0;
            while (true)
            {
                seen = await PeekMoreAsync(socket, window, seen, RejectReason.ProxyHeaderTimeout, deadline.Token, stopping).ConfigureAwait(false);
                switch (ProxyProtocolParser.Parse(window.Span[..seen], out ProxyHeader? header, out ProxyHeaderError error))
                {
                    case ParseStatus.Complete:
                        await ConsumeAsync(socket, header!.Length, deadline.Token).ConfigureAwait(false);
                        return header;
                    case ParseStatus.Invalid:
                        throw new ConnectionRejectedException(RejectReason.ProxyHeaderInvalid, $"PROXY header: {error}");
                    case ParseStatus.NeedMoreData when seen == window.Length:
                        throw new ConnectionRejectedException(RejectReason.ProxyHeaderInvalid, $"PROXY header longer than {window.Length} bytes");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Peeks until the whole ClientHello (possibly several records and segments) is queued. <paramref name="maxBytes"/>
    /// bounds the handshake message; the window also holds its record headers.
    /// </summary>
    public static async Task<ClientHelloInfo> PeekClientHelloAsync(PolledSocket socket, int maxBytes, TimeSpan timeout, CancellationToken stopping)
    {
        int windowLength = ClientHelloParser.MaxWireBytes(maxBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(windowLength);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            Memory<byte> window = buffer.AsMemory(0, windowLength);
            int seen = 0;
            while (true)
            {
                seen = await PeekMoreAsync(socket, window, seen, RejectReason.ClientHelloTimeout, deadline.Token, stopping).ConfigureAwait(false);
                switch (ClientHelloParser.Parse(window.Span[..seen], out ClientHelloInfo? hello, out ClientHelloError error, maxBytes))
                {
                    case ParseStatus.Complete:
                        return hello!;
                    case ParseStatus.Invalid:
                        throw Rejection(error, window.Span[..seen], maxBytes, window.Length);
                    case ParseStatus.NeedMoreData when seen == window.Length:
                        throw Rejection(ClientHelloError.TooFragmented, window.Span[..seen], maxBytes, window.Length);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The reason and the answer for a hello the front cannot route: libssl's alert, or a 400 for plain HTTP.</summary>
    private static ConnectionRejectedException Rejection(ClientHelloError error, ReadOnlySpan<byte> seen, int maxBytes, int windowLength) => error switch
    {
        ClientHelloError.NotTls when PlainHttp.LooksLikeRequest(seen) =>
            new(RejectReason.PlainHttp, "plain HTTP sent to the TLS port"),
        ClientHelloError.HelloTooLarge =>
            new(RejectReason.ClientHelloTooLarge, $"ClientHello message larger than {maxBytes} bytes", error.Alert()),
        ClientHelloError.TooFragmented =>
            new(RejectReason.ClientHelloTooLarge, $"ClientHello records larger than {windowLength} bytes", error.Alert()),
        ClientHelloError.UnexpectedRecord or ClientHelloError.NotClientHello =>
            new(RejectReason.ClientHelloUnexpectedRecord, $"ClientHello: {error}", error.Alert()),
        _ => new(RejectReason.ClientHelloInvalid, $"ClientHello: {error}", error.Alert()),
    };

    /// <summary>
    /// Where no route needs the hello before the handshake (no passthrough pool is reachable), libssl reads it whole and
    /// its ClientHello callback gives the routing facts: the front only peeks at the first byte. A handshake record is
    /// libssl's; anything else goes through <see cref="PeekClientHelloAsync"/>, so that plain HTTP still gets its 400 and
    /// other bytes the answer libssl gives them, as on a listener that peeks.
    /// </summary>
    public static async Task WaitForHandshakeAsync(PolledSocket socket, int maxBytes, TimeSpan timeout, CancellationToken stopping)
    {
        long start = Environment.TickCount64;
        byte[] first = new byte[1];
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            deadline.CancelAfter(timeout);
            await PeekMoreAsync(socket, first, 0, RejectReason.ClientHelloTimeout, deadline.Token, stopping).ConfigureAwait(false);
        }
        if (first[0] == ClientHelloParser.HandshakeContentType)
            return;
        TimeSpan left = timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
        await PeekClientHelloAsync(socket, maxBytes, left > TimeSpan.Zero ? left : TimeSpan.Zero, stopping).ConfigureAwait(false);
    }

    private static async Task<int> PeekMoreAsync(
        PolledSocket socket, Memory<byte> window, int seen, string timeoutReason, CancellationToken deadline, CancellationToken stopping)
    {
        int queued;
        try
        {
            queued = await socket.PeekAsync(window, seen, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new ConnectionRejectedException(timeoutReason, $"no complete header after {seen} bytes");
        }
        catch (SocketException ex) when (seen == 0 && ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Health checks often hang up with a reset (SO_LINGER 0), to leave no TIME_WAIT behind.
            throw new ConnectionRejectedException(RejectReason.Preconnect, "reset before sending anything");
        }
        if (queued == 0)
            throw seen == 0
                ? new ConnectionRejectedException(RejectReason.Preconnect, "closed before sending anything")
                : new ConnectionRejectedException(RejectReason.PeerClosed, $"peer closed after {seen} bytes");
        return queued;
    }

    private static async Task ConsumeAsync(PolledSocket socket, int count, CancellationToken cancellationToken)
    {
        byte[] discard = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            int consumed = 0;
            while (consumed < count)
            {
                int received = await socket.ReceiveAsync(discard.AsMemory(consumed, count - consumed), cancellationToken).ConfigureAwait(false);
                if (received == 0)
                    throw new ConnectionRejectedException(RejectReason.PeerClosed, "peer closed inside the PROXY header");
                consumed += received;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(discard);
        }
    }
}
