using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Baton.IO;

/// <summary>
/// Outgoing connections on the same loop: the relay's backend connections are opened here, non-blocking, so both sides
/// of a relayed connection wait in one epoll set and no .NET <see cref="Socket"/> (with its own engine thread and a
/// pool hop per completion) sits under the backend side.
/// </summary>
internal sealed partial class HandedOffSocket
{
    /// <summary>
    /// Connects to <paramref name="endPoint"/> (a name is resolved and its addresses tried in order); TCP sockets get
    /// TCP_NODELAY, as the relay writes whole messages. Throws <see cref="SocketException"/> when no address connects.
    /// </summary>
    public static async Task<HandedOffSocket> ConnectAsync(EndPoint endPoint, ReadinessLoop loop, CancellationToken cancellationToken)
    {
        if (endPoint is not DnsEndPoint dns)
            return await ConnectOnceAsync(endPoint, loop, cancellationToken).ConfigureAwait(false);
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
        SocketException failure = new((int)SocketError.HostNotFound);
        foreach (IPAddress address in addresses)
        {
            try
            {
                return await ConnectOnceAsync(new IPEndPoint(address, dns.Port), loop, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                failure = ex;
            }
        }
        throw failure;
    }

    private static async Task<HandedOffSocket> ConnectOnceAsync(EndPoint endPoint, ReadinessLoop loop, CancellationToken cancellationToken)
    {
        byte[] address = SocketAddressOf(endPoint, out int domain);
        SafeFdHandle fd = Interop.Libc.StreamSocket(domain);
        HandedOffSocket? socket = null;
        try
        {
            if (domain != Interop.Libc.AF_UNIX)
                Interop.Libc.SetSocketOptionInt(fd, Interop.Libc.IPPROTO_TCP, Interop.Libc.TCP_NODELAY, 1);
            socket = new HandedOffSocket(fd, loop);
            socket._readiness.BeforeAttempt(write: true);
            int errno = Interop.Libc.Connect(fd, address);
            if (errno == Interop.Libc.EINPROGRESS)
            {
                await socket._readiness.WaitAsync(write: true, cancellationToken).ConfigureAwait(false);
                errno = Interop.Libc.PendingSocketError(fd);
            }
            if (errno != 0)
                throw SocketErrors.ConnectFailed(errno);
            return socket;
        }
        catch
        {
            if (socket is null) fd.Dispose();
            else socket.Dispose();
            throw;
        }
    }

    /// <summary>The sockaddr for <paramref name="endPoint"/> (sockaddr_in, sockaddr_in6 or sockaddr_un) and its family.</summary>
    private static byte[] SocketAddressOf(EndPoint endPoint, out int domain)
    {
        switch (endPoint)
        {
            case IPEndPoint { AddressFamily: AddressFamily.InterNetwork } v4:
                domain = Interop.Libc.AF_INET;
                byte[] inet = new byte[16];
                BinaryPrimitives.WriteUInt16LittleEndian(inet, (ushort)domain);
                BinaryPrimitives.WriteUInt16BigEndian(inet.AsSpan(2), (ushort)v4.Port);
                v4.Address.TryWriteBytes(inet.AsSpan(4), out _);
                return inet;
            case IPEndPoint { AddressFamily: AddressFamily.InterNetworkV6 } v6:
                domain = Interop.Libc.AF_INET6;
                byte[] inet6 = new byte[28];
                BinaryPrimitives.WriteUInt16LittleEndian(inet6, (ushort)domain);
                BinaryPrimitives.WriteUInt16BigEndian(inet6.AsSpan(2), (ushort)v6.Port);
                v6.Address.TryWriteBytes(inet6.AsSpan(8), out _);
                BinaryPrimitives.WriteUInt32LittleEndian(inet6.AsSpan(24), (uint)v6.Address.ScopeId);
                return inet6;
            case UnixDomainSocketEndPoint unix:
                // BackendAddress holds paths to 107 bytes, so the path and its NUL fit sun_path.
                domain = Interop.Libc.AF_UNIX;
                byte[] path = Encoding.UTF8.GetBytes(unix.ToString()!);
                byte[] local = new byte[2 + path.Length + 1];
                BinaryPrimitives.WriteUInt16LittleEndian(local, (ushort)domain);
                path.CopyTo(local, 2);
                return local;
            default:
                throw new ArgumentException($"cannot connect to {endPoint}", nameof(endPoint));
        }
    }
}
