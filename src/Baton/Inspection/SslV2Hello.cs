namespace Baton.Inspection;

/// <summary>
/// An SSLv2-format ClientHello (a 2-byte record header with the top bit set, message type 1), which libssl still reads
/// as the first record of a connection and may answer with TLS 1.2. It has no extensions, so nothing to route on: the
/// front only waits for all of it and lets the TLS library decide.
/// </summary>
internal static class SslV2Hello
{
    private const int HeaderLength = 2;
    private const byte ClientHelloMessageType = 0x01;

    /// <summary>libssl's test on the first bytes (ssl3_get_record): top bit of the first byte, ClientHello type in the third.</summary>
    public static bool Is(ReadOnlySpan<byte> data) => data.Length >= 3 && (data[0] & 0x80) != 0 && data[2] == ClientHelloMessageType;

    public static ParseStatus Parse(ReadOnlySpan<byte> data, int maxBytes, out ClientHelloInfo? hello, out ClientHelloError error)
    {
        hello = null;
        error = ClientHelloError.None;
        int length = ((data[0] & 0x7F) << 8) | data[1];
        if (length > maxBytes)
        {
            error = ClientHelloError.HelloTooLarge;
            return ParseStatus.Invalid;
        }
        if (data.Length < HeaderLength + length)
        {
            return ParseStatus.NeedMoreData;
        }
        hello = new ClientHelloInfo { Length = HeaderLength + length };
        return ParseStatus.Complete;
    }
}
