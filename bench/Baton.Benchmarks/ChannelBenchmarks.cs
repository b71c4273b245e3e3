using Microsoft.Win32.SafeHandles;
using System.Net.Sockets;
using Baton.Channel;
using BenchmarkDotNet.Attributes;

namespace Baton.Benchmarks;

/// <summary>One Connection message (fd + ~800-byte body, the size of an exported TLS 1.3 state) sent and received
/// on one thread, receiver closing the fd: the front's and the worker's per-connection channel cost without wake-ups.</summary>
[MemoryDiagnoser]
public class ChannelBenchmarks
{
    private readonly byte[] _body = new byte[824];
    private readonly byte[] _receiveBuffer = new byte[ChannelSocket.MaxBodyLength];
    private ChannelSocket _front = null!;
    private ChannelSocket _worker = null!;
    private Socket _socket = null!;
    private SafeFdHandle _passedFd = null!;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_body);
        var (front, workerEnd) = ChannelSocket.CreatePair();
        _front = front;
        _worker = ChannelSocket.FromInheritedFd(workerEnd.DetachFd());
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _passedFd = SafeFdHandle.Duplicate(_socket.SafeHandle);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _passedFd.Dispose();
        _socket.Dispose();
        _worker.Dispose();
        _front.Dispose();
    }

    [Benchmark]
    public int SendAndReceiveConnection()
    {
        if (!_front.TrySend(MessageType.Connection, 1, _body, _passedFd))
        {
            throw new InvalidOperationException("channel queue full");
        }
        var message = _worker.Receive(_receiveBuffer);
        message.Fd!.Dispose();
        return message.BodyLength;
    }
}
