namespace Baton.AspNetCore;

/// <summary>Options of <see cref="BatonWebHostBuilderExtensions.UseBaton"/>.</summary>
public sealed class BatonTransportOptions
{
    /// <summary>
    /// When true, starting the app without a Baton front prints one line to stderr and exits with
    /// code 2. When false (the default) such a process runs as an ordinary ASP.NET Core app.
    /// </summary>
    public bool RequireFront { get; set; }

    /// <summary>Plaintext buffered per connection before reading from the client pauses (as Kestrel's MaxRequestBufferSize).</summary>
    public long MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Response bytes buffered per connection before the app's writes wait (as Kestrel's MaxResponseBufferSize).</summary>
    public long MaxWriteBufferSize { get; set; } = 64 * 1024;
}
