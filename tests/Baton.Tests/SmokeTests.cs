namespace Baton.Tests;

public class SmokeTests
{
    [Fact]
    public void OpenSsl3IsAvailable() => Assert.Null(Baton.Tls.OpenSslLibrary.Probe());
}
