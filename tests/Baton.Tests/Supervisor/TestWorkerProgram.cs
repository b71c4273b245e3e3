namespace Baton.Tests.Supervisor;

/// <summary>
/// tests/Baton.TestWorker, built next to the tests: a real worker whose command line picks how it behaves. The
/// exit statuses repeat its own constants (the tests do not reference its assembly, they run it).
/// </summary>
internal static class TestWorkerProgram
{
    /// <summary>Its exit status when it dies on receiving a connection (behaviour <c>die</c>).</summary>
    public const int DiedOnConnection = 70;

    /// <summary>Its exit status when it exits once it has its settings (behaviour <c>exit</c>).</summary>
    public const int ExitedAtStart = 3;

    /// <summary>tests/Baton.TestWorker/bin/&lt;configuration&gt;/net10.0/Baton.TestWorker, found from the test output folder.</summary>
    public static string Path
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            string framework = output.Name, configuration = output.Parent!.Name;
            DirectoryInfo tests = output.Parent.Parent!.Parent!.Parent!;
            string path = System.IO.Path.Combine(tests.FullName, "Baton.TestWorker", "bin", configuration, framework, "Baton.TestWorker");
            Assert.True(File.Exists(path), $"the test worker is not built at {path}");
            return path;
        }
    }

    /// <summary>A path for <c>--first</c> that does not exist yet; the caller deletes it.</summary>
    public static string NewMarker() => System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"baton-test-worker-{Guid.NewGuid():N}");
}
