using System.ComponentModel;
using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int ECHILD = 10;
    internal const int EEXIST = 17;

    /// <summary>The errno of the last P/Invoke declared with SetLastError = true.</summary>
    internal static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Turns errno into an exception that names the failing call.</summary>
    internal static Win32Exception ErrnoException(string call, int errno) =>
        new(errno, $"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    /// <summary>Throws for a -1 result, with errno captured right after the call.</summary>
    internal static int ThrowIfMinusOne(int result, string call) =>
        result == -1 ? throw ErrnoException(call, LastErrno) : result;
}
