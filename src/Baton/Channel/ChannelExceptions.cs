namespace Baton.Channel;

/// <summary>Why a received channel message (or body) was refused. Each check has its own reason.</summary>
internal enum ChannelError
{
    None = 0,

    // Transport and control data.
    ShortMessage,
    MessageTruncated,
    ControlTruncated,
    UnexpectedControlMessage,
    BadControlLength,
    TooManyFds,
    MissingFd,
    UnexpectedFd,

    // Header.
    BadMagic,
    BadVersion,
    ReservedNotZero,
    UnknownType,
    WrongDirection,
    BodyTooLarge,
    BodyLengthMismatch,
    MissingBody,
    UnexpectedBody,
    BadConnectionId,

    // Body (TLV).
    FieldHeaderTruncated,
    FieldLengthOverrun,
    DuplicateField,
    UnknownField,
    MissingField,
    FieldTooLarge,
    InvalidFieldValue,
}

/// <summary>The peer sent a message that breaks the channel protocol. The channel must be closed (and the worker restarted).</summary>
internal sealed class ChannelProtocolException : Exception
{
    public ChannelProtocolException(ChannelError error, string? detail = null)
        : base(detail is null ? $"Invalid channel message: {error}" : $"Invalid channel message: {error} ({detail})")
    {
        Error = error;
    }

    public ChannelError Error { get; }
}

/// <summary>The peer closed its end (EPIPE/ECONNRESET on send).</summary>
internal sealed class ChannelClosedException : IOException
{
    public ChannelClosedException(string message, int errno)
        : base(message)
    {
        Errno = errno;
    }

    public int Errno { get; }
}
