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

    public static async Task DrainAsync(Action shutdownSend, Func<Memory<byte>, CancellationToken, ValueTask<int>> receive)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        using var bounded = new CancellationTokenSource(Timeout);
        try
        {
            shutdownSend();
            int drained = 0, read;
            while (drained < MaxBytes && (read = await receive(buffer, bounded.Token).ConfigureAwait(false)) > 0)
            {
                // Behind a TLS layer what is dropped is the client's plaintext.
                CryptographicOperations.ZeroMemory(buffer.AsSpan(0, read));
                drained += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone, reset or silent: nothing more to wait for.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
