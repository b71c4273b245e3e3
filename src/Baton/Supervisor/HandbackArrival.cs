using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Baton.Supervisor;

/// <summary>
/// A connection a worker handed back (channel message Handback), as its receive loop got it: the descriptor, a copy of
/// the body (a Connection body, already validated; it holds the session's keys) and the worker that still holds its own
/// copy until <see cref="Acknowledge"/>. The front routes and re-dispatches it; disposing wipes the body and closes
/// the descriptor unless it was taken.
/// </summary>
internal sealed class HandbackArrival : IDisposable
{
    private readonly WorkerProcess _from;
    private SafeFdHandle? _fd;
    private byte[]? _body;

    internal HandbackArrival(WorkerProcess from, ulong id, SafeFdHandle fd, ReadOnlySpan<byte> body)
    {
        _from = from;
        Id = id;
        _fd = fd;
        _body = ArrayPool<byte>.Shared.Rent(body.Length);
        body.CopyTo(_body);
        BodyLength = body.Length;
    }

    /// <summary>The id the worker knew the connection by.</summary>
    public ulong Id { get; }

    public string FromPool => _from.Pool;

    public int FromPid => _from.Pid;

    public int BodyLength { get; }

    /// <summary>The Handback body (secret: the session's keys).</summary>
    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    /// <summary>Takes the descriptor (the caller owns it from here); once only.</summary>
    public int TakeFd() => (Interlocked.Exchange(ref _fd, null) ?? throw new InvalidOperationException("the descriptor was taken")).DetachFd();

    /// <summary>Tells the worker the front holds the connection, so that it closes its copy. False when the worker is gone.</summary>
    public bool Acknowledge() => _from.TrySendHandbackAck(Id);

    public void Dispose()
    {
        Interlocked.Exchange(ref _fd, null)?.Dispose();
        byte[]? body = Interlocked.Exchange(ref _body, null);
        if (body is null) return;
        CryptographicOperations.ZeroMemory(body.AsSpan(0, BodyLength));
        ArrayPool<byte>.Shared.Return(body);
    }
}
