using System.Net.Sockets;
using Baton.IO;
using Microsoft.Win32.SafeHandles;

namespace Baton.Tests.Infrastructure;

/// <summary>A worker's view of a connection in tests: a real socket's descriptor on one readiness loop for the test process.</summary>
internal static class HandedOffSockets
{
    private static readonly Lazy<ReadinessLoop> s_loop = new(() => new ReadinessLoop("test-readiness"));

    public static ReadinessLoop Loop => s_loop.Value;

    /// <summary>Takes the connection over from <paramref name="socket"/> (which is disposed), as a worker takes a handed-off descriptor.</summary>
    public static HandedOffSocket TakeOver(Socket socket)
    {
        SafeFdHandle fd = SafeFdHandle.Duplicate(socket.SafeHandle);
        socket.Dispose();
        return new HandedOffSocket(fd, Loop);
    }
}
