using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Baton.Tls.Records;
using Baton.Worker;

namespace Baton.AspNetCore;

/// <summary>
/// Handback in the transport: with a gate (<see cref="WorkerConnection.CreateGate"/>), plaintext reaches Kestrel only
/// through it, request by request. At a request for another pool the receive loop stops reading, waits until every
/// request Kestrel got is answered and written, detaches the record layer and hands the connection back; Kestrel then
/// sees the end of its input and finishes the connection without a byte or a FIN on the socket.
/// </summary>
internal sealed partial class BatonConnection
{
    private const int GateReadSize = 16 * 1024;

    private readonly HandbackGate? _gate;
    private readonly SemaphoreSlim _responsesWritten = new(0);
    private byte[]? _gateBuffer;
    private volatile bool _handingBack;
    private volatile bool _sendingEnded;
    private CancellationTokenRegistration _drainRegistration;

    /// <summary>
    /// The front drains this worker's generation (a deploy). A gated connection goes back at its next request (the gate
    /// sees the token); any other asks Kestrel to finish: Connection: close on HTTP/1.1 (an idle one closes now), GOAWAY
    /// on h2. Runs as a cancellation callback: it must not throw.
    /// </summary>
    private void OnDraining()
    {
        if (_gate is { CannotHandBack: false })
            return;
        try
        {
            Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
        catch (Exception ex)
        {
            Log.DrainFailed(_logger, ConnectionId, ex.Message);
        }
    }

    /// <summary>Reads through the gate; -1 at a boundary (or broken framing: nothing more may reach Kestrel).</summary>
    private async ValueTask<int> ReadThroughGateAsync(PipeWriter input)
    {
        _gateBuffer ??= new byte[GateReadSize];
        int received = await _stream.ReadAsync(_gateBuffer).ConfigureAwait(false);
        if (received == 0)
            return 0;
        GateVerdict verdict = _gate!.Feed(_gateBuffer.AsSpan(0, received), input);
        CryptographicOperations.ZeroMemory(_gateBuffer.AsSpan(0, received));
        if (verdict == GateVerdict.Broken)
            Log.GateBroken(_logger, ConnectionId);
        return verdict == GateVerdict.Continue ? received : -1;
    }

    /// <summary>At a boundary: hands the connection back, or returns true when it was upgraded and reading goes on.</summary>
    private async Task<bool> FlushAndHandBackAsync(PipeWriter input)
    {
        await input.FlushAsync().ConfigureAwait(false);
        if (_gate!.Held.IsEmpty)
            return false; // broken framing: the connection just ends
        try
        {
            if (await WaitForAnswersAsync().ConfigureAwait(false) is string refusal)
            {
                if (_gate.Upgraded)
                {
                    // The "boundary" was the new protocol's first bytes: they are Kestrel's, and so is the rest.
                    input.Write(_gate.Held);
                    await input.FlushAsync().ConfigureAwait(false);
                    return true;
                }
                Log.NotHandedBack(_logger, ConnectionId, refusal);
                return false;
            }
            DetachedSession detached;
            try
            {
                _handingBack = true;
                detached = ((TlsRecordStream)_stream).Detach();
            }
            catch (InvalidOperationException ex)
            {
                _handingBack = false;
                Log.NotHandedBack(_logger, ConnectionId, ex.Message);
                return false;
            }
            bool taken = await _connection.HandBackAsync(detached, _gate.Held.ToArray()).ConfigureAwait(false);
            Log.HandedBack(_logger, ConnectionId, taken);
            return false;
        }
        finally
        {
            _gate.WipeHeld();
        }
    }

    /// <summary>Waits until every request passed on is answered and written; returns why not when that cannot happen.</summary>
    private async Task<string?> WaitForAnswersAsync()
    {
        while (true)
        {
            // AllAnswered first: a refusal is set before the count that completes it (HandbackGate.CompleteResponse).
            bool answered = _gate!.AllAnswered;
            if (_gate.CannotHandBack) return _gate.CannotHandBackReason;
            if (answered) return null;
            if (_sendingEnded) return "the connection ended before its responses were complete";
            await _responsesWritten.WaitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The send loop wrote these bytes: the gate counts the responses they complete.</summary>
    private void ResponseWritten(in ReadOnlySequence<byte> written)
    {
        if (_gate is null) return;
        _gate.OnResponseBytes(written);
        // One wake-up pending at most: nothing waits until a boundary, and a count per write would grow without bound.
        if (_responsesWritten.CurrentCount == 0)
            _responsesWritten.Release();
    }

    private void SendingEnded()
    {
        _sendingEnded = true;
        _responsesWritten.Release();
    }

    private static partial class Log
    {
        [LoggerMessage(202, LogLevel.Debug, "Connection {ConnectionId} handed back to the front (taken: {Taken})")]
        public static partial void HandedBack(ILogger logger, string connectionId, bool taken);

        [LoggerMessage(203, LogLevel.Information, "Connection {ConnectionId}: a request for another pool, but the connection cannot go back ({Reason}); closing it")]
        public static partial void NotHandedBack(ILogger logger, string connectionId, string reason);

        [LoggerMessage(204, LogLevel.Information, "Connection {ConnectionId}: a request body's framing is broken; closing the connection")]
        public static partial void GateBroken(ILogger logger, string connectionId);

        [LoggerMessage(224, LogLevel.Warning, "Connection {ConnectionId}: could not ask Kestrel to close it for the drain: {Reason}")]
        public static partial void DrainFailed(ILogger logger, string connectionId, string reason);
    }
}
