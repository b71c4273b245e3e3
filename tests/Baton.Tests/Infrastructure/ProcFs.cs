namespace Baton.Tests.Infrastructure;

/// <summary>Reads process facts from /proc: open descriptors, children, liveness.</summary>
public static class ProcFs
{
    public static int OpenFdCount(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    public static bool IsAlive(int pid)
    {
        try
        {
            // A zombie still has /proc/pid; treat it as gone.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0] != "Z";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Direct children of a process, from every thread's children list.</summary>
    public static IReadOnlySet<int> Children(int pid)
    {
        var children = new HashSet<int>();
        string tasks = $"/proc/{pid}/task";
        string[] threads;
        try
        {
            threads = Directory.GetDirectories(tasks);
        }
        catch (DirectoryNotFoundException)
        {
            return children; // the process has exited (and been reaped): it has no children any more
        }
        foreach (string task in threads)
        {
            try
            {
                foreach (string child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    children.Add(int.Parse(child));
            }
            catch (IOException)
            {
                // The thread exited while we looked.
            }
        }
        return children;
    }

    public static string CommandLine(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');

    public static string Environment(int pid) => File.ReadAllText($"/proc/{pid}/environ").Replace('\0', '\n');
}
