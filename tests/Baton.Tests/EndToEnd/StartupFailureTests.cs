using Baton.Tests.Infrastructure;
using Baton.Tests.Tls;

namespace Baton.Tests.EndToEnd;

/// <summary>A real `baton serve` that cannot start says why in one line, with the exit code, and starts no worker.</summary>
public sealed class StartupFailureTests
{
    /// <summary>Fails fast instead of the 60 s the workers were once given to report ready.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(45);

    private static void AssertOneLineWithoutAStackTrace(ProcessResult result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode}: {result}");
        string[] errors = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(errors.Length == 1, $"expected one line on stderr: {result}");
        Assert.StartsWith(expected, errors[0]);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.DoesNotContain("worker started", result.Output);
    }

    [Fact]
    public async Task MalformedJsonNamesTheFileAndThePosition()
    {
        using TempFile config = TempFile.WithText("{ \"Baton\": { \"Pools\": \n");
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", config.Path], timeout: Prompt);
        AssertOneLineWithoutAStackTrace(result, 2, $"baton: invalid configuration: {config.Path}: line 2, column 1: ");
    }

    [Fact]
    public async Task AMissingConfigFileIsOneLine()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.json");
        ProcessResult result = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--config", missing], timeout: Prompt);
        AssertOneLineWithoutAStackTrace(result, 2, $"baton: invalid configuration: {missing}: no such file");
    }

    [Fact]
    public async Task GarbagePemStopsTheFrontNamingTheCertificate()
    {
        using TempFile garbage = TempFile.WithText("not a certificate\n", ".pem");
        using TempFile key = TempFile.WithBytes(TestCertificates.Localhost.PrivateKeyPem);
        ProcessResult result = await ChildProcess.RunAsync(
            BatonFront.Executable, ["serve", "--listen", "127.0.0.1:0", "--cert", garbage.Path, "--key", key.Path], timeout: Prompt);
        AssertOneLineWithoutAStackTrace(result, 2, $"baton: invalid configuration: Baton:Certificates:0:CertificateFile: '{garbage.Path}' holds no PEM certificate chain");
    }

    [Fact]
    public async Task AKeyThatDoesNotMatchStopsThePassthroughFrontBeforeAnyWorker()
    {
        using TempFile chain = TempFile.WithBytes(TestCertificates.Localhost.CertificatePem);
        using TempFile otherKey = TempFile.WithBytes(TestCertificates.WildcardExample.PrivateKeyPem);
        ProcessResult result = await ChildProcess.RunAsync(
            BatonFront.Executable, ["serve", "--listen", "127.0.0.1:0", "--mode", "passthrough", "--cert", chain.Path, "--key", otherKey.Path], timeout: Prompt);
        AssertOneLineWithoutAStackTrace(result, 2, $"baton: invalid configuration: Baton:Certificates:0:KeyFile: the key in '{otherKey.Path}' does not belong to the certificate");
    }

    [Fact]
    public async Task ASecondFrontOnAPortInUseFailsInsteadOfSharingIt()
    {
        await using BatonFront first = await BatonFront.StartAsync();

        ProcessResult second = await ChildProcess.RunAsync(BatonFront.Executable, ["serve", "--listen", $"127.0.0.1:{first.Port}"], timeout: Prompt);

        AssertOneLineWithoutAStackTrace(second, 1, $"baton: address already in use: 127.0.0.1:{first.Port} (listener default)");
        Assert.Equal("default", Clients.FactsField(await Clients.CurlAsync(first.Port), "pool"));
    }

    [Fact]
    public async Task ListenersThatAskForReusePortShareTheirPort()
    {
        using TempFile firstConfig = TempFile.Config(new { Listeners = new[] { new { Address = "127.0.0.1:0", ReusePort = true } }, Pools = new { @default = new { Workers = 1 } } });
        await using BatonFront first = await BatonFront.StartAsync(["--config", firstConfig.Path]);
        using TempFile secondConfig = TempFile.Config(new { Listeners = new[] { new { Address = $"127.0.0.1:{first.Port}", ReusePort = true } }, Pools = new { @default = new { Workers = 1 } } });

        await using BatonFront second = await BatonFront.StartAsync(["--config", secondConfig.Path]);

        Assert.Equal(first.Port, second.Port);
    }
}
