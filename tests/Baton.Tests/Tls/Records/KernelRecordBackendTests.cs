using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// The kernel backend's own plumbing on every machine: non-blocking sendmsg and recvmsg, waiting for room and for
/// data, gathering segments into records, counting records, a reset as end of stream. On a socket without the
/// "tls" ULP the kernel ignores the TLS cmsgs and bytes pass as they are, so the peer reads and writes plaintext.
/// The protocol over a kernel that does TLS is what the kernel rows of <see cref="RecordLayerProtocolTests"/> test.
/// </summary>
public class KernelRecordBackendTests
{
    private const ulong FirstSequence = 5;

    [Fact]
    public async Task SegmentsAreGatheredIntoWholeRecordsAndCounted()
    {
        await using var t = await StartAsync(sendBuffer: 1 << 20); // room for all of it: no send is cut short
        byte[] expected = RandomNumberGenerator.GetBytes(64 * 4096);
        Task write = t.Server.WriteAsync(Segments(expected, 4096)).AsTask();
        Assert.Equal(expected, await ReadExactlyAsync(t.Client, expected.Length));
        await write.WaitAsync(Deadline);
        Assert.Equal(FirstSequence + 16, t.State.WriteSequence); // 64 segments of 4 KiB, 16 records of 16 KiB
    }

    [Fact]
    public async Task AWriteWaitsForRoomWhileThePeerDoesNotRead()
    {
        await using var t = await StartAsync(sendBuffer: 4096);
        byte[] expected = RandomNumberGenerator.GetBytes(1 << 20);
        Task write = t.Server.WriteAsync(expected).AsTask();
        Assert.False(write.IsCompleted); // far more than the socket buffers hold
        Assert.Equal(expected, await ReadExactlyAsync(t.Client, expected.Length));
        await write.WaitAsync(Deadline);
        // Each send the socket took only in part ended a record early: more than 64 records, and each one counted.
        Assert.True(t.State.WriteSequence >= FirstSequence + 64, $"{t.State.WriteSequence} records counted");
    }

    [Fact]
    public async Task ReadsTakeDataStraightIntoTheCallersBuffer()
    {
        await using var t = await StartAsync();
        ValueTask<int> ready = t.Server.ReadAsync(Memory<byte>.Empty);
        Assert.False(ready.IsCompleted); // nothing arrived: a zero-byte read waits
        await t.Client.WriteAsync("request"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal(0, await ready.AsTask().WaitAsync(Deadline));
        Assert.Equal("request"u8.ToArray(), await ReadExactlyAsync(t.Server, 7));
    }

    [Fact]
    public async Task AResetReadsAsEndOfStream()
    {
        await using var t = await StartAsync();
        await t.Client.WriteAsync("hi"u8.ToArray()).AsTask().WaitAsync(Deadline);
        Assert.Equal("hi"u8.ToArray(), await ReadExactlyAsync(t.Server, 2));
        Task<int> pending = t.Server.ReadAsync(new byte[10]).AsTask();
        t.Client.Socket.LingerState = new LingerOption(true, 0);
        t.Client.Socket.Close();
        Assert.Equal(0, await pending.WaitAsync(Deadline));
        Assert.True(t.Server.ResetByPeer);
    }

    [Fact]
    public async Task AFinReadsAsEndOfStreamWithoutReset()
    {
        await using var t = await StartAsync();
        t.Client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await t.Server.ReadAsync(new byte[10]).AsTask().WaitAsync(Deadline));
        Assert.False(t.Server.ResetByPeer);
    }

    [Fact]
    public async Task DisposeSendsCloseNotifyAsAControlRecord()
    {
        await using var t = await StartAsync();
        await t.Server.DisposeAsync();
        // Without the ULP the record's content is all the peer gets: warning, close_notify.
        Assert.Equal([1, 0], await ReadToEndAsync(t.Client));
    }

    private static async Task<Session> StartAsync(int sendBuffer = 0)
    {
        var (server, client) = await ConnectSocketsAsync();
        if (sendBuffer > 0) server.SendBufferSize = sendBuffer;
        TlsSessionState state = NewServerState(0xC02F, writeSequence: FirstSequence);
        var stream = new TlsRecordStream(new KernelRecordBackend(server, state), state, default);
        return new Session(stream, state, new NetworkStream(client, ownsSocket: true));
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int size)
    {
        var first = new Segment(data.AsMemory(0, size));
        Segment last = first;
        for (int offset = size; offset < data.Length; offset += size) last = last.Append(data.AsMemory(offset, size));
        return new ReadOnlySequence<byte>(first, 0, last, size);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    private sealed record Session(TlsRecordStream Server, TlsSessionState State, NetworkStream Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Client.DisposeAsync();
        }
    }
}
