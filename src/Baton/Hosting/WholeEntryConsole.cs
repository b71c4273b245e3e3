using System.Text;

namespace Baton.Hosting;

/// <summary>
/// The front and its workers write to one stdout, and .NET's console writer sends what it is given in 256-byte
/// pieces: two processes' entries then interleave mid-line (a JSON line broken in two is two unreadable ones). With a
/// writer whose buffer holds a whole entry, each entry the console logger writes is one write(2), which a pipe keeps
/// whole up to PIPE_BUF (4096 bytes) and a file opened for appending keeps whole at any length.
/// </summary>
internal static class WholeEntryConsole
{
    /// <summary>Larger than any entry but a pathological one; a longer entry is still written, in several writes.</summary>
    private const int BufferChars = 64 * 1024;

    private static int s_installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1)
            return;
        // Console.SetOut makes it synchronized; AutoFlush writes each Write call out at its end.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), BufferChars) { AutoFlush = true });
    }
}
