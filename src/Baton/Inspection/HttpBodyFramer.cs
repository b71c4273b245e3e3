namespace Baton.Inspection;

/// <summary>Why <see cref="HttpBodyFramer"/> answered <see cref="ParseStatus.Invalid"/>.</summary>
internal enum HttpBodyError
{
    None,

    /// <summary>A chunk-size that is not hex, or more hex digits than a 63-bit size has.</summary>
    BadChunkSize,

    /// <summary>A chunk-size line (size and extensions) longer than <see cref="HttpBodyFramer.MaxChunkLineBytes"/>.</summary>
    ChunkLineTooLong,

    /// <summary>Chunk extensions with a control character (CR only before LF).</summary>
    BadChunkExtension,

    /// <summary>Chunk data not followed by CRLF.</summary>
    BadChunkEnd,

    /// <summary>A bare CR or LF where a line ends.</summary>
    BadLineEnd,

    /// <summary>The trailer section is longer than <see cref="HttpBodyFramer.MaxTrailerBytes"/>.</summary>
    TrailersTooLarge,

    /// <summary>A trailer line that starts with SP/HTAB (obsolete folding) or holds a control character.</summary>
    BadTrailer,
}

/// <summary>
/// Finds where an HTTP/1.1 message body ends (RFC 9112 §6, §7.1), so that a connection's next request starts exactly
/// there. Resumable: feed the bytes after the head in any pieces; each call consumes what belongs to the body and says
/// whether the body ended (<see cref="ParseStatus.Complete"/>, consumed = its last bytes). State is a few integers: a
/// body of any length costs no buffering. Bounded: a chunk-size line (size and extensions) of at most
/// <see cref="MaxChunkLineBytes"/>, a trailer section of at most <see cref="MaxTrailerBytes"/>. Strict like the head
/// parser: CRLF only (a bare LF or CR is refused), so the gate and Kestrel never disagree on a boundary silently.
/// </summary>
internal struct HttpBodyFramer
{
    /// <summary>Chunk-size line bound; Kestrel reads extensions without a bound of its own, nginx allows a buffer's worth.</summary>
    public const int MaxChunkLineBytes = 4096;

    /// <summary>Trailer section bound: the default request-head bound.</summary>
    public const int MaxTrailerBytes = HttpHeadLimits.DefaultMaxHeadBytes;

    private enum State : byte
    {
        Done,
        Length,
        Size,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerLine,
        TrailerLf,
        FinalLf,
    }

    private State _state;
    private long _remaining;
    private int _lineBytes;
    private int _digits;

    /// <summary>The framing a request head declares: chunked, a Content-Length, or no body.</summary>
    public static HttpBodyFramer ForRequest(HttpRequestHead head) =>
        head.IsChunked ? Chunked() : ContentLength(head.ContentLength ?? 0);

    public static HttpBodyFramer ContentLength(long length) =>
        length > 0 ? new HttpBodyFramer { _state = State.Length, _remaining = length } : default;

    public static HttpBodyFramer Chunked() => new() { _state = State.Size };

    /// <summary>The body has ended (or there was none).</summary>
    public readonly bool IsComplete => _state == State.Done;

    /// <summary>
    /// Consumes the body's bytes at the start of <paramref name="data"/>. NeedMoreData: all of it was body and the body
    /// goes on. Complete: the body ended after <paramref name="consumed"/> bytes; the rest is the next message.
    /// </summary>
    public ParseStatus Advance(ReadOnlySpan<byte> data, out int consumed, out HttpBodyError error)
    {
        error = HttpBodyError.None;
        int i = 0;
        while (_state != State.Done && i < data.Length)
        {
            if (_state is State.Length or State.Data)
            {
                int take = (int)Math.Min(_remaining, data.Length - i);
                i += take;
                _remaining -= take;
                if (_remaining == 0)
                    _state = _state == State.Length ? State.Done : State.DataCr;
                continue;
            }
            error = Step(data[i++]);
            if (error != HttpBodyError.None)
            {
                consumed = i;
                return ParseStatus.Invalid;
            }
        }
        consumed = i;
        return _state == State.Done ? ParseStatus.Complete : ParseStatus.NeedMoreData;
    }

    /// <summary>One byte of the chunked coding outside chunk data.</summary>
    private HttpBodyError Step(byte b)
    {
        switch (_state)
        {
            case State.Size:
                if (++_lineBytes > MaxChunkLineBytes) return HttpBodyError.ChunkLineTooLong;
                if (HexValue(b) is int digit)
                {
                    // 15 hex digits keep the size under 2^60: no overflow, far beyond any body.
                    if (++_digits > 15) return HttpBodyError.BadChunkSize;
                    _remaining = (_remaining << 4) | (uint)digit;
                    return HttpBodyError.None;
                }
                if (_digits == 0) return HttpBodyError.BadChunkSize;
                if (b == ';' || b == ' ' || b == '\t') { _state = State.Extension; return HttpBodyError.None; }
                return b == '\r' ? Goto(State.SizeLf) : b == '\n' ? HttpBodyError.BadLineEnd : HttpBodyError.BadChunkSize;
            case State.Extension:
                if (++_lineBytes > MaxChunkLineBytes) return HttpBodyError.ChunkLineTooLong;
                if (b == '\r') return Goto(State.SizeLf);
                return b == '\n' ? HttpBodyError.BadLineEnd : IsControl(b) ? HttpBodyError.BadChunkExtension : HttpBodyError.None;
            case State.SizeLf:
                if (b != '\n') return HttpBodyError.BadLineEnd;
                _lineBytes = 0;
                _digits = 0;
                _state = _remaining == 0 ? State.TrailerLineStart : State.Data;
                return HttpBodyError.None;
            case State.DataCr:
                return b == '\r' ? Goto(State.DataLf) : HttpBodyError.BadChunkEnd;
            case State.DataLf:
                return b == '\n' ? Goto(State.Size) : HttpBodyError.BadChunkEnd;
            default:
                return StepTrailer(b);
        }
    }

    /// <summary>The trailer section: field lines until an empty line; only its framing and size are checked here.</summary>
    private HttpBodyError StepTrailer(byte b)
    {
        if (++_lineBytes > MaxTrailerBytes) return HttpBodyError.TrailersTooLarge;
        switch (_state)
        {
            case State.TrailerLineStart:
                if (b == '\r') return Goto(State.FinalLf);
                if (b == ' ' || b == '\t') return HttpBodyError.BadTrailer;
                return b == '\n' ? HttpBodyError.BadLineEnd : Goto(State.TrailerLine, b);
            case State.TrailerLine:
                return b == '\r' ? Goto(State.TrailerLf) : Goto(State.TrailerLine, b);
            case State.TrailerLf:
                return b == '\n' ? Goto(State.TrailerLineStart) : HttpBodyError.BadLineEnd;
            default: // FinalLf
                return b == '\n' ? Goto(State.Done) : HttpBodyError.BadLineEnd;
        }
    }

    private HttpBodyError Goto(State next, byte b = (byte)'x')
    {
        if (b == '\n') return HttpBodyError.BadLineEnd;
        if (next == State.TrailerLine && IsControl(b)) return HttpBodyError.BadTrailer;
        _state = next;
        return HttpBodyError.None;
    }

    private static bool IsControl(byte b) => (b < 0x20 && b != '\t') || b == 0x7F;

    private static int? HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => null,
    };
}
