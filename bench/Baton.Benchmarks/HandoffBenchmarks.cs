using Microsoft.Win32.SafeHandles;
using System.Net.Sockets;
using Baton.Channel;
using BenchmarkDotNet.Attributes;

namespace Baton.Benchmarks;

/// <summary>
/// The one-way handoff as it happens in production: the front sends fd + an ~800-byte exported TLS state over the
/// SEQPACKET channel and a worker thread, blocked in recvmsg, receives it and closes the fd. Unlike
/// <see cref="ChannelBenchmarks"/> (send and receive on one thread) this includes waking the receiver.
/// <c>OneWay</c> sends one message and spins until the receiver has taken it: its Median is the issue's
/// "handoff of fd + state, one-way, p50" (target ≤ 10 µs). <c>Burst</c> sends 64 back to back and waits for all:
/// the per-connection cost when the front hands off faster than a worker wakes up.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HandoffBenchmarks
{
    private const int BurstLength = 64;

    private readonly byte[] _state = new byte[824];
    private ChannelSocket _front = null!;
    private ChannelSocket _worker = null!;
    private Socket _socket = null!;
    private SafeFdHandle _passedFd = null!;
    private Thread _receiver = null!;
    private long _received;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_state);
        var (front, workerEnd) = ChannelSocket.CreatePair();
        _front = front;
        _worker = ChannelSocket.FromInheritedFd(workerEnd.DetachFd());
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _passedFd = SafeFdHandle.Duplicate(_socket.SafeHandle);
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "handoff receiver" };
        _receiver.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _front.Dispose(); // the receiver's recvmsg then returns end-of-stream
        _receiver.Join();
        _worker.Dispose();
        _passedFd.Dispose();
        _socket.Dispose();
    }

    [Benchmark]
    public long OneWay() => SendAndAwait(1);

    [Benchmark(OperationsPerInvoke = BurstLength)]
    public long Burst() => SendAndAwait(BurstLength);

    private long SendAndAwait(int count)
    {
        long target = Volatile.Read(ref _received) + count;
        for (int i = 0; i < count; i++)
        {
            while (!_front.TrySend(MessageType.Connection, 1, _state, _passedFd))
            {
                Thread.SpinWait(1); // the channel's socket buffer holds only a few messages: wait for the receiver
            }
        }
        // Spin rather than block: a blocking wait would add the sender's own wake-up to the figure.
        while (Volatile.Read(ref _received) < target)
        {
            Thread.SpinWait(1);
        }
        return target;
    }

    private void ReceiveLoop()
    {
        byte[] buffer = new byte[ChannelSocket.MaxBodyLength];
        while (true)
        {
            var message = _worker.Receive(buffer);
            if (message.IsEndOfStream)
            {
                return;
            }
            message.Fd?.Dispose();
            Interlocked.Increment(ref _received);
        }
    }
}
