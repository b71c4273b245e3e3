using Microsoft.Win32.SafeHandles;
namespace Baton.Channel;

/// <summary>One received channel message. The body is the first <see cref="BodyLength"/> bytes of the caller's buffer;
/// <see cref="Fd"/> (Connection only) belongs to the caller, who must dispose or detach it.</summary>
internal readonly struct ReceivedMessage
{
    private ReceivedMessage(bool endOfStream, MessageType type, ulong connectionId, int bodyLength, SafeFdHandle? fd)
    {
        IsEndOfStream = endOfStream;
        Type = type;
        ConnectionId = connectionId;
        BodyLength = bodyLength;
        Fd = fd;
    }

    /// <summary>The peer closed its end (or this end was disposed): no more messages will come.</summary>
    public bool IsEndOfStream { get; }

    public MessageType Type { get; }

    public ulong ConnectionId { get; }

    public int BodyLength { get; }

    public SafeFdHandle? Fd { get; }

    public static ReceivedMessage EndOfStream => new(true, default, 0, 0, null);

    public static ReceivedMessage Create(MessageType type, ulong connectionId, int bodyLength, SafeFdHandle? fd) =>
        new(false, type, connectionId, bodyLength, fd);
}
