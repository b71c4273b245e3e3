using System.Net;
using System.Net.Sockets;

namespace Baton.Tests.IO;

/// <summary>
/// A connected TCP loopback pair. <see cref="Server"/> is the side under test: only its raw descriptor is used
/// (through a SocketPoller or PolledSocket), never .NET's async engine. <see cref="Client"/> is the peer.
/// </summary>
internal sealed class LoopbackPair : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private LoopbackPair(Socket server, Socket client)
    {
        Server = server;
        Client = client;
    }

    public Socket Server { get; }

    public Socket Client { get; }

    public static async Task<LoopbackPair> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Deadline);
            // A blocking accept: an AcceptAsync would not register the new socket either, but this leaves no doubt.
            Socket server = await Task.Run(listener.Accept).WaitAsync(Deadline);
            server.NoDelay = true;
            return new LoopbackPair(server, client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>SO_RCVLOWAT of the server side: PolledSocket raises it to wait for more than it has peeked.</summary>
    public int ServerReceiveLowWater
    {
        get
        {
            byte[] value = new byte[sizeof(int)];
            Server.GetRawSocketOption(Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVLOWAT, value);
            return BitConverter.ToInt32(value);
        }
    }

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty) bytes = bytes[Client.Send(bytes)..];
    }

    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
    }
}
