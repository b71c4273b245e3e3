using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Baton.Tests.Inspection;

namespace Baton.Tests.AspNetCore;

/// <summary>
/// The front's normalized path is what a real Kestrel gives the application: every accepted row of
/// <see cref="RequestPathTests"/> is sent, as raw bytes, to a Kestrel on loopback that answers with Request.Path.
/// </summary>
public sealed class KestrelPathParityTests : IAsyncLifetime
{
    private WebApplication? _app;
    private int _port;

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(context =>
        {
            byte[] path = Encoding.UTF8.GetBytes(context.Request.Path.Value ?? "<null>");
            context.Response.ContentLength = path.Length;
            return context.Response.Body.WriteAsync(path).AsTask();
        });
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _port = new Uri(address).Port;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }

    [Fact]
    public async Task EveryAcceptedPathIsTheOneKestrelGivesTheApplication()
    {
        var mismatches = new List<string>();
        foreach (object?[] row in RequestPathTests.Accepted)
        {
            (string target, string expected) = ((string)row[0]!, (string)row[1]!);
            string kestrel = await KestrelPathAsync(target);
            if (kestrel != expected)
                mismatches.Add($"{target}: Kestrel {kestrel}, front {expected}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    /// <summary>Why the refused absolute-form rows are refused: Kestrel reads them otherwise than their origin form.</summary>
    [Theory]
    [InlineData("http://x/api%2Fx", "/api%2Fx")]
    [InlineData("http://x/a%2F..%2Fapi/x", "/a%2F..%2Fapi/x")]
    public async Task KestrelReadsTheseAbsoluteFormPathsOtherwise(string absolute, string origin) =>
        Assert.NotEqual(await KestrelPathAsync(origin), await KestrelPathAsync(absolute));

    private async Task<string> KestrelPathAsync(string target)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        string response = Encoding.UTF8.GetString(await Infrastructure.Clients.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(30)));
        // Anything but a 200 shows as its status line, so a mismatch names it.
        return response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)
            ? response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]
            : response.Split("\r\n")[0];
    }
}
