using System.Text;

namespace Baton.Tests.Inspection;

/// <summary>
/// The path routing matches on is the one the worker's application sees. The table is what Kestrel gives the
/// application as HttpRequest.Path for each target (AspNetCore/KestrelPathParityTests checks every accepted row
/// against a real Kestrel), or the front's 400 where that path would not be safe to route on.
/// </summary>
public sealed class RequestPathTests
{
    /// <summary>Target as sent → the application's path; null where the target has no path.</summary>
    public static TheoryData<string, string?> Accepted => new()
    {
        // Issue 11's table: the raw request line routed these elsewhere than the application served them.
        { "/api/../hello", "/hello" },
        { "/%61pi/x", "/api/x" },
        { "/API/x", "/API/x" },
        // Decoded once, whatever the character, %2F excepted: Kestrel keeps it, so it is no separator to either.
        { "/%2561pi/x", "/%61pi/x" },
        { "/api%2Fx", "/api%2Fx" },
        { "/api%2fx", "/api%2fx" },
        { "/api/..%2Fx", "/api/..%2Fx" },
        { "/a%20b%3Fc%23d%7E", "/a b?c#d~" },
        { "/api/%C3%A9", "/api/\u00e9" },
        { "/%F0%9F%98%80/", "/\U0001F600/" },
        { "/api/%0a", "/api/\n" },
        // Dot segments (RFC 3986 5.2.4), after decoding as Kestrel does.
        { "/%2e%2e/api/x", "/api/x" },
        { "/api/%2E%2E/x", "/x" },
        { "/./api/x", "/api/x" },
        { "/.", "/" },
        { "/..", "/" },
        { "/../../api/x", "/api/x" },
        { "/api/.", "/api/" },
        { "/api/..", "/" },
        { "/api/x/..", "/api/" },
        { "/api/.x/..y/...", "/api/.x/..y/..." },
        // Empty segments and backslashes are ordinary characters to Kestrel and to ASP.NET routing.
        { "//api/x", "//api/x" },
        { "/api//x", "/api//x" },
        { "/a//../api/x", "/a/api/x" },
        { "/api%5C..%5Cx", "/api\\..\\x" },
        // The query is no part of the path.
        { "/api/x?q=../../y", "/api/x" },
        { "/?/api/", "/" },
        // Absolute-form: System.Uri's reading, which agrees with the origin-form one here.
        { "http://x/api/x", "/api/x" },
        { "https://x/%61pi/x", "/api/x" },
        { "http://x/foo/../api/x", "/api/x" },
        { "http://x/a/%2e%2e/api/x?y", "/api/x" },
        { "http://x", "/" },
        { "http://x?a", "/" },
    };

    /// <summary>Targets whose path cannot be read as the application will read it: the front answers 400.</summary>
    public static TheoryData<string> Refused => new()
    {
        "/api%00/x",
        // Percent-encoded bytes that are not UTF-8 (Kestrel would leave each such sequence encoded).
        "/api/%FF",
        "/api/%C3",
        "/api/%C3%A9%FF",
        "/api/%C0%AF",
        "/api/%E0%80%AF",
        "/api/%ED%A0%80",
        "/api/%F4%90%80%80",
        // Absolute-form paths System.Uri reads otherwise than the same path in origin form (it decodes %2F and
        // %00, and removes dot segments before decoding).
        "http://x/api%2Fx",
        "http://x/a%2F..%2Fapi/x",
        "http://x/..%2F",
        "http://x/api/%00",
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void TheNormalizedPathIsTheApplicationsPath(string target, string? expected)
    {
        HttpRequestHead head = Parse(target, out HttpHeadError error)!;
        Assert.Equal(HttpHeadError.None, error);
        Assert.Equal(expected, head.NormalizedPath);
    }

    [Fact]
    public void TheRawPathStaysAsSent()
    {
        HttpRequestHead head = Parse("/%61pi/../x?q", out _)!;
        Assert.Equal(("/%61pi/../x", "/x"), (head.Path, head.NormalizedPath));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void APathThatCannotBeReadSafelyIsABadRequest(string target)
    {
        Assert.Null(Parse(target, out HttpHeadError error));
        Assert.Equal(HttpHeadError.BadPath, error);
        Assert.Equal(400, error.ToStatusCode());
    }

    [Fact]
    public void TargetsWithoutAPathHaveNone()
    {
        Assert.Null(Parse("*", out _, "OPTIONS")!.NormalizedPath);
        Assert.Null(Parse("x:443", out _, "CONNECT", host: "x:443")!.NormalizedPath);
    }

    [Fact]
    public void ALongPathIsNormalizedToo()
    {
        string segment = new('a', 600);
        Assert.Equal($"/{segment}/b", Parse($"/{segment}/%2E/x/../%62", out _)!.NormalizedPath);
        Assert.Equal(HttpHeadError.BadPath, Parse($"/{segment}%00", out HttpHeadError error) is null ? error : HttpHeadError.None);
    }

    [Fact]
    public void AnUnchangedPathIsTheSameString()
    {
        HttpRequestHead head = Parse("/api/x", out _)!;
        Assert.Same(head.Path, head.NormalizedPath);
    }

    private static HttpRequestHead? Parse(string target, out HttpHeadError error, string method = "GET", string host = "x")
    {
        byte[] bytes = Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        HttpRequestHeadParser.Parse(bytes, null, out HttpRequestHead? head, out error);
        return head;
    }
}
