using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Baton.IO;

/// <summary>
/// Closes a connection whose client may still be talking, without resetting it: a TLS 1.3 client sends its request
/// right after its Finished, before it reads the server's alert refusing its certificate. Closed with those bytes unread,
/// the socket sends a reset, and a reset can destroy the alert before the client reads it (curl then says "getpeername()
/// failed" instead of "unknown ca"). So: shut the sending side (the alert is already sent), read and drop what arrives,
/// at most <see cref="MaxBytes"/> for at most <see cref="Timeout"/>, then the caller closes.
/// </summary>
internal static class LingeringClose
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    public const int MaxBytes = 64 * 1024;

    /// <summary>Returns whether the client closed (as opposed to the deadline, the byte limit or a failure ending it).</summary>
    public static async Task<bool> DrainAsync(Action shutdownSend, Func<Memory<byte>, CancellationToken, ValueTask<int>> receive)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        using var bounded = new CancellationTokenSource(Timeout);
        try
        {
            shutdownSend();
            int drained = 0, read;
            while ((read = await receive(buffer, bounded.Token).ConfigureAwait(false)) > 0)
            {
                // Behind a TLS layer what is dropped is the client's plaintext.
                CryptographicOperations.ZeroMemory(buffer.AsSpan(0, read));
                drained += read;
                if (drained >= MaxBytes)
                    return false;
            }
            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone, reset or silent: nothing more to wait for.
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
