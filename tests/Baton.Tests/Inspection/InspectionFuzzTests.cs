using System.Text;

namespace Baton.Tests.Inspection;

/// <summary>
/// Seeded mutation fuzzing: no input may throw, and every Complete answer must be self-consistent
/// (the reported length is within the input, parses alone to the same result, and one byte less needs more).
/// </summary>
public class InspectionFuzzTests
{
    private const int Iterations = 4000;

    private static byte[] Mutate(Random random, byte[] seed)
    {
        byte[] data = seed.ToArray();
        switch (random.Next(5))
        {
            case 0:
                for (int i = random.Next(1, 5); i > 0 && data.Length > 0; i--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }
                return data;
            case 1:
                return data.AsSpan(0, random.Next(data.Length + 1)).ToArray();
            case 2:
                int at = random.Next(data.Length + 1);
                return [.. data.AsSpan(0, at), .. RandomBytes(random, random.Next(1, 8)), .. data.AsSpan(at)];
            case 3:
                int cut = random.Next(data.Length + 1);
                return [.. data.AsSpan(0, cut), .. data.AsSpan(Math.Min(data.Length, cut + random.Next(1, 8)))];
            default:
                return RandomBytes(random, random.Next(0, 300));
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void ClientHelloParserSurvivesMutations()
    {
        byte[][] seeds = [ClientHelloBuilder.Typical().Build(), ClientHelloBuilder.Typical().Build(fragmentSize: 20), new ClientHelloBuilder().Build()];
        var random = new Random(1234);
        int complete = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] data = Mutate(random, seeds[random.Next(seeds.Length)]);
            if (ClientHelloParser.Parse(data, out ClientHelloInfo? hello, out ClientHelloError error) != ParseStatus.Complete)
            {
                continue;
            }
            complete++;
            Assert.Equal(ClientHelloError.None, error);
            Assert.InRange(hello!.Length, 9, data.Length);
            Assert.Equal(ParseStatus.Complete, ClientHelloParser.Parse(data.AsSpan(0, hello.Length), out ClientHelloInfo? again, out _));
            Assert.Equal(hello.ServerName, again!.ServerName);
            Assert.Equal(ParseStatus.NeedMoreData, ClientHelloParser.Parse(data.AsSpan(0, hello.Length - 1), out _, out _));
            Assert.True(hello.ServerName is null || hello.ServerName == hello.ServerName.ToLowerInvariant());
        }
        Assert.True(complete > 100, $"only {complete} mutated hellos parsed: the fuzz loop exercises too little");
    }

    [Fact]
    public void ProxyProtocolParserSurvivesMutations()
    {
        byte[][] seeds =
        [
            "PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\n"u8.ToArray(),
            "PROXY TCP6 2001:db8::1 ::1 1 2\r\n"u8.ToArray(),
            ProxyProtocolParserTests.V2(0x21, 0x11, ProxyProtocolParserTests.Inet4Block(1, 0, 2, 9, 9)),
            ProxyProtocolParserTests.V2(0x21, 0x21, new byte[36]),
        ];
        var random = new Random(5678);
        int complete = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] data = Mutate(random, seeds[random.Next(seeds.Length)]);
            if (ProxyProtocolParser.Parse(data, out ProxyHeader? header, out _) != ParseStatus.Complete)
            {
                continue;
            }
            complete++;
            Assert.InRange(header!.Length, 8, data.Length);
            Assert.True(ProxyProtocolParser.CouldBeProxyHeader(data));
            Assert.Equal(ParseStatus.Complete, ProxyProtocolParser.Parse(data.AsSpan(0, header.Length), out ProxyHeader? again, out _));
            Assert.Equal(header.Source, again!.Source);
            Assert.Equal(ParseStatus.NeedMoreData, ProxyProtocolParser.Parse(data.AsSpan(0, header.Length - 1), out _, out _));
        }
        Assert.True(complete > 100, $"only {complete} mutated headers parsed");
    }

    [Fact]
    public void HttpRequestHeadParserSurvivesMutations()
    {
        byte[][] seeds =
        [
            Encoding.ASCII.GetBytes(HttpRequestHeadParserTests.BrowserHead),
            "POST /x?y HTTP/1.1\r\nHost: a.example:81\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray(),
            "GET http://a/ HTTP/1.0\r\n\r\n"u8.ToArray(),
        ];
        var random = new Random(9012);
        int complete = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] data = Mutate(random, seeds[random.Next(seeds.Length)]);
            if (HttpRequestHeadParser.Parse(data, null, out HttpRequestHead? head, out _) != ParseStatus.Complete)
            {
                continue;
            }
            complete++;
            Assert.InRange(head!.HeadLength, 18, data.Length);
            Assert.True(data.AsSpan(0, head.HeadLength).EndsWith("\r\n\r\n"u8));
            Assert.Equal(ParseStatus.Complete, HttpRequestHeadParser.Parse(data.AsSpan(0, head.HeadLength), null, out HttpRequestHead? again, out _));
            Assert.Equal((head.Host, head.Target, head.ContentLength), (again!.Host, again.Target, again.ContentLength));
            Assert.Equal(ParseStatus.NeedMoreData, HttpRequestHeadParser.Parse(data.AsSpan(0, head.HeadLength - 1), null, out _, out _));
            Assert.True(head.Host is null || head.Host == head.Host.ToLowerInvariant());
        }
        Assert.True(complete > 100, $"only {complete} mutated heads parsed");
    }
}
