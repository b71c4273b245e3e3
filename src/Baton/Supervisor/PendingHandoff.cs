using System.Buffers;
using System.Security.Cryptography;
using Baton.IO;

namespace Baton.Supervisor;

/// <summary>
/// A connection on its way to a worker. The front keeps the socket and the serialized facts until a
/// worker acknowledges it, so that a worker dying before its Ack loses nothing: the same descriptor
/// and state go to another worker.
/// </summary>
internal sealed class PendingHandoff : IDisposable
{
    private byte[]? _body;

    /// <param name="body">A buffer rented from <see cref="ArrayPool{T}.Shared"/>; this object returns it.</param>
    public PendingHandoff(ulong id, string pool, PolledSocket socket, byte[] body, int bodyLength)
    {
        Id = id;
        Pool = pool;
        Socket = socket;
        _body = body;
        BodyLength = bodyLength;
    }

    public ulong Id { get; }
    public string Pool { get; }
    public PolledSocket Socket { get; }
    public int BodyLength { get; }

    /// <summary>The pid of the worker last sent this connection: once a worker acknowledged it, that worker's.</summary>
    public int? SentTo { get; internal set; }

    /// <summary>The Connection message body; it may hold TLS secrets (handoff mode).</summary>
    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    /// <summary>Wipes the body (secrets), returns it to the pool and closes the front's copy of the descriptor.</summary>
    public void Dispose()
    {
        byte[]? body = Interlocked.Exchange(ref _body, null);
        if (body is not null)
        {
            CryptographicOperations.ZeroMemory(body.AsSpan(0, BodyLength));
            ArrayPool<byte>.Shared.Return(body);
        }
        Socket.Dispose();
    }
}
