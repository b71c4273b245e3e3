using System.Buffers;
using Baton.Configuration;
using Baton.Inspection;

namespace Baton.Worker;

/// <summary>What <see cref="HandbackGate.Feed"/> decided about the bytes it was given.</summary>
internal enum GateVerdict
{
    /// <summary>Everything so far belongs to this pool's requests: keep reading.</summary>
    Continue,

    /// <summary>A request head this pool must not serve (another pool's route, any head once draining, or one that cannot be routed): stop
    /// reading; <see cref="HandbackGate.Held"/> holds it and everything after it.</summary>
    Boundary,

    /// <summary>A body's framing is broken: nothing more may reach the application; end the connection.</summary>
    Broken,
}

/// <summary>
/// The worker's request-boundary gate for one kept-alive HTTP/1.1 connection (handback): every request head is parsed
/// before the application sees it and routed with the front's own rule (<see cref="RouteTable"/>); a head for this pool
/// goes through, with its body framed (<see cref="HttpBodyFramer"/>) so the next boundary is exact; the first head for
/// another pool stops the flow, and everything from it on is held for the front. On the way out the responses are
/// followed (<see cref="HttpResponseFramer"/>), so the caller knows when every request passed through is answered.
/// Not thread-safe per side: <see cref="Feed"/> is the receive loop's, <see cref="OnResponseBytes"/> the send loop's.
/// </summary>
internal sealed class HandbackGate
{
    private readonly Func<RouteTable> _routes;
    private readonly string _listener;
    private readonly string? _serverName;
    private readonly string _pool;
    private readonly HttpHeadLimits _limits;
    private readonly CancellationToken _draining;
    private readonly ArrayBufferWriter<byte> _head = new(1024);
    private readonly Queue<bool> _headRequests = new();
    private readonly Lock _counts = new();
    private readonly HttpResponseFramer _responses = new();
    private const int MaxEmptyLines = 2;
    private int _emptyLines;
    private HttpBodyFramer _body;
    private bool _inBody;
    private byte[] _held = [];
    private int _requests;
    private int _answered;

    /// <param name="routes">The routes as they are now (a reload may replace them), read at each head.</param>
    /// <param name="draining">Cancelled when this worker's generation drains: from then on every head is a boundary.</param>
    public HandbackGate(
        Func<RouteTable> routes, string listener, string? serverName, string pool, HttpHeadLimits? limits = null, CancellationToken draining = default)
    {
        _draining = draining;
        _routes = routes;
        _listener = listener;
        _serverName = serverName;
        _pool = pool;
        _limits = limits ?? HttpHeadLimits.Default;
    }

    /// <summary>After a <see cref="GateVerdict.Boundary"/>: the head for the front to route and everything read after it (sensitive).</summary>
    public ReadOnlySpan<byte> Held => _held;

    /// <summary>A response made a later boundary impossible (101, close-delimited, Connection: close, malformed): never hand back.</summary>
    public bool CannotHandBack { get; private set; }

    /// <summary>Why <see cref="CannotHandBack"/>, for the log.</summary>
    public string? CannotHandBackReason { get; private set; }

    /// <summary>A response switched protocols (101): the bytes after it are not HTTP, so the gate only passes them on.</summary>
    public bool Upgraded => _upgraded;

    private volatile bool _upgraded;

    /// <summary>Every request passed to the application has been answered in full (its response written).</summary>
    public bool AllAnswered
    {
        get
        {
            lock (_counts)
                return _answered == _requests;
        }
    }

    /// <summary>
    /// Passes the bytes that belong to this pool's requests to <paramref name="application"/>, in order. Stops at the
    /// first head this pool must not serve (<see cref="GateVerdict.Boundary"/>) or at broken framing.
    /// </summary>
    public GateVerdict Feed(ReadOnlySpan<byte> data, IBufferWriter<byte> application)
    {
        if (_upgraded)
        {
            // Pass-through for the connection's life: what was collected as a head was the new protocol's first bytes.
            application.Write(_head.WrittenSpan);
            _head.Clear();
            application.Write(data);
            return GateVerdict.Continue;
        }
        while (!data.IsEmpty)
        {
            if (_inBody)
            {
                ParseStatus body = _body.Advance(data, out int used, out _);
                application.Write(data[..used]);
                data = data[used..];
                if (body == ParseStatus.Invalid) return GateVerdict.Broken;
                _inBody = body == ParseStatus.NeedMoreData;
                continue;
            }
            GateVerdict verdict = FeedHead(ref data, application);
            if (verdict != GateVerdict.Continue) return verdict;
        }
        return GateVerdict.Continue;
    }

    /// <summary>Collects a head; once it parses, routes it and either passes it on or holds it with what follows.</summary>
    private GateVerdict FeedHead(ref ReadOnlySpan<byte> data, IBufferWriter<byte> application)
    {
        int take = Math.Min(data.Length, _limits.MaxHeadBytes + 1 - _head.WrittenCount);
        _head.Write(data[..take]);
        SkipEmptyLines();
        ParseStatus status = HttpRequestHeadParser.Parse(_head.WrittenSpan, _limits, out HttpRequestHead? head, out _);
        // A head that cannot start a request line (a WebSocket frame read before the 101 was seen) is a boundary at
        // once rather than bytes to wait on: the caller then waits for the answers and sees the upgrade.
        if (status == ParseStatus.NeedMoreData && take == data.Length && StartsLikeARequest())
        {
            data = default;
            return GateVerdict.Continue;
        }
        // An invalid head is the front's to answer (its parser, its status code); a complete one may be another pool's,
        // and once the generation drains every one goes back to be served by the next.
        if (status != ParseStatus.Complete || head is null || _draining.IsCancellationRequested || IsAnotherPools(head))
        {
            _held = [.. _head.WrittenSpan, .. data[take..]];
            _head.Clear();
            return GateVerdict.Boundary;
        }
        // What the buffer holds past the head came from this piece's end: the next message starts there.
        int pastHead = _head.WrittenCount - head.HeadLength;
        application.Write(_head.WrittenSpan[..head.HeadLength]);
        _head.Clear();
        _emptyLines = 0;
        data = data[(take - pastHead)..];
        lock (_counts)
        {
            _requests++;
            _headRequests.Enqueue(head.Method == "HEAD");
        }
        _body = HttpBodyFramer.ForRequest(head);
        _inBody = !_body.IsComplete;
        return GateVerdict.Continue;
    }

    /// <summary>Only Host/path routes can send a request elsewhere than its connection went: without, the route is not looked up.</summary>
    private bool IsAnotherPools(HttpRequestHead head)
    {
        RouteTable routes = _routes();
        return routes.NeedsRequest && routes.SelectWithRequest(_listener, _serverName, head.Host, head.NormalizedPath) != _pool;
    }

    private bool StartsLikeARequest()
    {
        ReadOnlySpan<byte> head = _head.WrittenSpan;
        return head.IsEmpty || head[0] == (byte)'\r' || char.IsAsciiLetterUpper((char)head[0]);
    }

    /// <summary>
    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request line (some clients send a CRLF
    /// after a body). A few are dropped here, so that neither the application nor the front's parser sees them.
    /// </summary>
    private void SkipEmptyLines()
    {
        while (_emptyLines < MaxEmptyLines && _head.WrittenSpan.StartsWith("\r\n"u8))
        {
            byte[] rest = _head.WrittenSpan[2..].ToArray();
            _head.Clear();
            _head.Write(rest);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(rest);
            _emptyLines++;
        }
    }

    /// <summary>The send loop wrote these bytes to the client: counts the responses they complete.</summary>
    public void OnResponseBytes(in ReadOnlySequence<byte> written)
    {
        foreach (ReadOnlyMemory<byte> segment in written)
        {
            ReadOnlySpan<byte> span = segment.Span;
            while (!span.IsEmpty && !CannotHandBack)
            {
                bool headRequest;
                lock (_counts)
                    headRequest = _headRequests.TryPeek(out bool isHead) && isHead;
                ParseStatus status = _responses.Advance(span, headRequest, out int used, out HttpResponseError error);
                span = span[used..];
                if (status == ParseStatus.Invalid && error == HttpResponseError.Upgraded)
                    (_upgraded, CannotHandBack, CannotHandBackReason) = (true, true, "the connection was upgraded");
                else if (status == ParseStatus.Invalid)
                    (CannotHandBack, CannotHandBackReason) = (true, $"a response the gate cannot frame ({error})");
                else if (status == ParseStatus.Complete)
                    CompleteResponse();
            }
        }
    }

    private void CompleteResponse()
    {
        // The refusal is set before the count moves: a reader that sees every response answered sees it too.
        if (_responses.ClosesConnection)
            (CannotHandBack, CannotHandBackReason) = (true, "a response closes the connection");
        lock (_counts)
        {
            _headRequests.TryDequeue(out _);
            _answered++;
        }
    }

    /// <summary>Wipes the held bytes (client plaintext) once they have been sent or dropped.</summary>
    public void WipeHeld() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(_held);
}
