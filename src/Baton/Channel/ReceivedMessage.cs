using Microsoft.Win32.SafeHandles;
namespace Baton.Channel;

/// <summary>One received channel message. The body is the first <see cref="BodyLength"/> bytes of the caller's buffer;
/// <see cref="Fd"/> (Connection only) belongs to the caller, who must dispose or detach it.</summary>
internal readonly struct ReceivedMessage
{
    private ReceivedMessage(bool endOfStream, MessageType type, ulong connectionId, int bodyLength, SafeFdHandle? fd, bool fdDropped)
    {
        IsEndOfStream = endOfStream;
        Type = type;
        ConnectionId = connectionId;
        BodyLength = bodyLength;
        Fd = fd;
        FdDropped = fdDropped;
    }

    /// <summary>The peer closed its end (or this end was disposed): no more messages will come.</summary>
    public bool IsEndOfStream { get; }

    public MessageType Type { get; }

    public ulong ConnectionId { get; }

    public int BodyLength { get; }

    public SafeFdHandle? Fd { get; }

    /// <summary>
    /// A Connection whose descriptor the kernel could not install in this process (it is at its descriptor limit):
    /// <see cref="Fd"/> is null and the sender still holds the connection, so the answer is Rejected.
    /// </summary>
    public bool FdDropped { get; }

    public static ReceivedMessage EndOfStream => new(true, default, 0, 0, null, false);

    public static ReceivedMessage Create(MessageType type, ulong connectionId, int bodyLength, SafeFdHandle? fd, bool fdDropped) =>
        new(false, type, connectionId, bodyLength, fd, fdDropped);
}
