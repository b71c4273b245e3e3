using Baton.Tests.Infrastructure;

namespace Baton.Tests.EndToEnd;

/// <summary>One handoff-mode front on the embedded ECDSA certificate and one on an RSA certificate, shared by a test class.</summary>
public sealed class HandoffFronts : IAsyncLifetime
{
    private string? _directory;

    public BatonFront Ecdsa { get; private set; } = null!;
    public BatonFront Rsa { get; private set; } = null!;
    public string RsaKeyFile { get; private set; } = "";

    public BatonFront For(string keyType) => keyType == "rsa" ? Rsa : Ecdsa;

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("baton-rsa-").FullName;
        string cert = Path.Combine(_directory, "cert.pem");
        RsaKeyFile = Path.Combine(_directory, "key.pem");
        ProcessResult made = await ChildProcess.RunAsync("openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", RsaKeyFile, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        Task<BatonFront> ecdsa = BatonFront.StartAsync(["--mode", "handoff"]);
        Task<BatonFront> rsa = BatonFront.StartAsync(["--mode", "handoff", "--cert", cert, "--key", RsaKeyFile]);
        Ecdsa = await ecdsa;
        Rsa = await rsa;
    }

    public async Task DisposeAsync()
    {
        if (Ecdsa is not null) await Ecdsa.DisposeAsync();
        if (Rsa is not null) await Rsa.DisposeAsync();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }
}
