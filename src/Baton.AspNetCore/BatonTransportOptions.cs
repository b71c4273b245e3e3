namespace Baton.AspNetCore;

/// <summary>Options of <see cref="BatonWebHostBuilderExtensions.UseBaton"/>.</summary>
public sealed class BatonTransportOptions
{
    /// <summary>
    /// When true, <c>UseBaton</c> throws an <see cref="InvalidOperationException"/> saying so when the app was not
    /// started by a Baton front. When false (the default) such a process runs as an ordinary ASP.NET Core app.
    /// </summary>
    public bool RequireFront { get; set; }

    /// <summary>Plaintext buffered per connection before reading from the client pauses (as Kestrel's MaxRequestBufferSize).</summary>
    public long MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Response bytes buffered per connection before the app's writes wait (as Kestrel's MaxResponseBufferSize).</summary>
    public long MaxWriteBufferSize { get; set; } = 64 * 1024;
}
