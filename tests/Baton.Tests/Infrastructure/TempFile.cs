using System.Text;
using System.Text.Json;

namespace Baton.Tests.Infrastructure;

/// <summary>A file in the temp folder for one test (a configuration, a PEM), deleted on dispose.</summary>
public sealed class TempFile : IDisposable
{
    private TempFile(string path) => Path = path;

    public string Path { get; }

    public static TempFile WithText(string text, string extension = ".json") => WithBytes(Encoding.UTF8.GetBytes(text), extension);

    public static TempFile WithBytes(byte[] bytes, string extension = ".pem")
    {
        var file = new TempFile(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}{extension}"));
        File.WriteAllBytes(file.Path, bytes);
        return file;
    }

    /// <summary>A configuration file holding <paramref name="baton"/> as its "Baton" section.</summary>
    public static TempFile Config(object baton) => WithText(JsonSerializer.Serialize(new { Baton = baton }));

    public void Dispose() => File.Delete(Path);
}
