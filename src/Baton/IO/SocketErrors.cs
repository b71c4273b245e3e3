using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Baton.IO;

/// <summary>The errno of a failed call on a client socket as the SocketException .NET's own sockets would throw.</summary>
internal static class SocketErrors
{
    /// <summary>
    /// SocketException takes a SocketError, not an errno (104 would read as an unknown code): the errors a client
    /// connection produces are mapped, and the message keeps the errno and its text.
    /// </summary>
    public static SocketException FromErrno(string call, int errno) =>
        new((int)CodeOf(errno), $"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    /// <summary>As .NET's own connect fails: the error's text alone ("Connection refused"), as operators read it in logs.</summary>
    public static SocketException ConnectFailed(int errno) => new((int)CodeOf(errno), Marshal.GetPInvokeErrorMessage(errno));

    private static SocketError CodeOf(int errno) => errno switch
    {
        Interop.Libc.ECONNRESET => SocketError.ConnectionReset,
        Interop.Libc.EPIPE => SocketError.Shutdown,
        Interop.Libc.ENOTCONN => SocketError.NotConnected,
        Interop.Libc.ECONNABORTED => SocketError.ConnectionAborted,
        Interop.Libc.ETIMEDOUT => SocketError.TimedOut,
        Interop.Libc.ECONNREFUSED => SocketError.ConnectionRefused,
        Interop.Libc.ENETUNREACH => SocketError.NetworkUnreachable,
        Interop.Libc.EHOSTUNREACH => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };
}
