using System.Security.Cryptography;
using Baton.Configuration;

namespace Baton.Hosting;

/// <summary>
/// `Control:WatchCertificates`: watches the directories of the certificate, key and ticket-key files (and, for a
/// symlink, of what it points to) and asks for a reload once they have been quiet for <see cref="Quiet"/> after a
/// change: ACME clients and cert-manager write a certificate and its key one after the other, and Kubernetes swaps a
/// symlink to a new directory. Nothing is reloaded when the files' contents are what was last loaded.
/// </summary>
internal sealed class CertificateWatcher : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private readonly Action<string> _reload;
    private readonly Timer _quiet;
    private readonly Lock _gate = new();
    private List<FileSystemWatcher> _watchers = [];
    private string[] _files = [];
    private byte[] _loaded = [];
    private string _changed = "";

    /// <param name="reload">Asks for the reload, with what changed (for its log line).</param>
    public CertificateWatcher(Action<string> reload)
    {
        _reload = reload;
        _quiet = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The files of <paramref name="options"/> from now on (at start and after each applied reload), as they are now.</summary>
    public void Watch(BatonOptions options)
    {
        string[] files = [.. options.Certificates.SelectMany(c => new[] { c.CertificateFile, c.KeyFile })
            .Concat(options.SessionTickets.KeyFile is string tickets ? [tickets] : [])
            .Select(Path.GetFullPath).Distinct(StringComparer.Ordinal)];
        string[] directories = [.. files.SelectMany(Directories).Where(Directory.Exists).Distinct(StringComparer.Ordinal)];
        var watchers = new List<FileSystemWatcher>();
        foreach (string directory in directories)
        {
            var watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnChanged;
            watcher.Created += OnChanged;
            watcher.Deleted += OnChanged;
            watcher.Renamed += OnChanged;
            watcher.EnableRaisingEvents = true;
            watchers.Add(watcher);
        }
        List<FileSystemWatcher> previous;
        lock (_gate)
        {
            (previous, _watchers, _files, _loaded) = (_watchers, watchers, files, Fingerprint(files));
        }
        previous.ForEach(w => w.Dispose());
    }

    /// <summary>The file's directory, and the directory its symlink finally points to.</summary>
    private static IEnumerable<string> Directories(string file)
    {
        yield return Path.GetDirectoryName(file)!;
        string? target = null;
        try
        {
            target = File.ResolveLinkTarget(file, returnFinalTarget: true)?.FullName;
        }
        catch (IOException)
        {
            // A dangling link: its own directory is watched, which is where it will be fixed.
        }
        if (target is not null)
            yield return Path.GetDirectoryName(target)!;
    }

    private void OnChanged(object sender, FileSystemEventArgs change)
    {
        lock (_gate)
            _changed = change.FullPath;
        // Every change restarts the quiet period.
        _quiet.Change(Quiet, Timeout.InfiniteTimeSpan);
    }

    private void Fire()
    {
        string changed;
        lock (_gate)
        {
            if (Fingerprint(_files).AsSpan().SequenceEqual(_loaded))
                return;
            changed = _changed;
        }
        _reload(changed);
    }

    /// <summary>A hash of every file's contents (an unreadable one hashes as its error: it is what a reload would refuse).</summary>
    private static byte[] Fingerprint(string[] files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in files)
        {
            try
            {
                byte[] contents = File.ReadAllBytes(file);
                hash.AppendData(contents);
                // Key files among them.
                CryptographicOperations.ZeroMemory(contents);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(ex.Message));
            }
            hash.AppendData([0]);
        }
        return hash.GetHashAndReset();
    }

    public void Dispose()
    {
        _quiet.Dispose();
        lock (_gate)
            _watchers.ForEach(w => w.Dispose());
    }
}
