using Baton.Configuration;
using Baton.Front;

namespace Baton.Tests.Observability;

/// <summary>The access log's format and how its fields are escaped and bounded.</summary>
public sealed class AccessLogFormatTests
{
    [Fact]
    public void AFormatIsLiteralTextAndFieldsWithDoubledBracesForBraces()
    {
        AccessLogFormat format = AccessLogFormat.Parse("{{x}} {pool}:{worker_pid} {pool}", out string? problem)!;

        Assert.Null(problem);
        Assert.Equal([AccessLogField.Pool, AccessLogField.WorkerPid], format.Fields);
        Assert.Equal(["pool", "worker_pid"], format.FieldNamesInOrder);
        Assert.Equal(["{x} ", null, ":", null, " ", null], format.Segments.Select(s => s.Literal));
        Assert.Equal([-1, 0, -1, 1, -1, 0], format.Segments.Select(s => s.FieldIndex));
    }

    [Theory]
    [InlineData("{pool", "has a '{' at 0 that is never closed")]
    [InlineData("pool}", "has a '}' at 4 that closes nothing")]
    [InlineData("{secret}", "names an unknown field '{secret}'; the fields are time, connection, client")]
    [InlineData("{}", "names an unknown field '{}'")]
    public void AMalformedFormatIsRefusedSayingWhere(string text, string expected)
    {
        Assert.Null(AccessLogFormat.Parse(text, out string? problem));
        Assert.StartsWith(expected, problem);
    }

    [Fact]
    public void AFormatIsBoundedInLength()
    {
        Assert.Null(AccessLogFormat.Parse(new string('x', AccessLogFormat.MaxLength + 1), out string? problem));
        Assert.Equal($"is {AccessLogFormat.MaxLength + 1} characters long; at most {AccessLogFormat.MaxLength}", problem);
        Assert.NotNull(AccessLogFormat.Parse(new string('x', AccessLogFormat.MaxLength), out _));
    }

    [Theory]
    [InlineData("example.com", "example.com")]
    [InlineData("a b\"c\\d\ne", @"a\x20b\x22c\x5cd\x0ae")]
    [InlineData("caf\u00e9\u2603", @"caf\xe9\u{2603}")]
    public void AFieldIsPrintableAsciiWithoutSpacesOrQuotes(string value, string expected) =>
        Assert.Equal(expected, AccessLog.Bounded(value));

    [Fact]
    public void AFieldIsCutAtItsBoundWithAMark()
    {
        string bounded = AccessLog.Bounded(new string('a', 1000))!;
        Assert.Equal(AccessLog.MaxFieldLength, bounded.Length);
        Assert.EndsWith("a...", bounded);
        // An escape is never cut in half.
        Assert.Matches(@"^(\\x22)+\.\.\.$", AccessLog.Bounded(new string('"', 1000)));
        Assert.Equal(new string('a', AccessLog.MaxFieldLength - 3), AccessLog.Bounded(new string('a', AccessLog.MaxFieldLength - 3)));
    }
}
