namespace Baton.Tests.Inspection;

/// <summary>
/// Issue 11: what libssl judges is not the parser's to refuse. Each hello here is one libssl takes or refuses by
/// itself (EndToEnd/GeneratedHelloTests compares the answers with s_server's); the parser must let it through with
/// its SNI for the route.
/// </summary>
public class ClientHelloLeniencyTests
{
    /// <summary>Hellos libssl judges (and often accepts): none of it is the front's to refuse, and the route still gets the SNI.</summary>
    public static TheoryData<string> LibsslsToJudge => new()
    {
        "record version 3.0", "record version 3.5", "record version 3.255", "second record version 3.5",
        "hello version 2.3", "hello version 4.0", "hello version 0x7f1c", "hello version 0",
        "session id of 33 bytes", "no cipher suites", "odd cipher suite vector", "no compression methods",
        "an unknown extension twice", "a GREASE extension twice", "supported_groups twice", "malformed supported_versions",
        "pre_shared_key not last", "150 unknown extensions", "more handshake bytes after the hello in its record",
        "32 empty handshake records", "duplicate ALPN names",
    };

    [Theory]
    [MemberData(nameof(LibsslsToJudge))]
    public void WhatLibsslJudgesIsLeftToIt(string kind)
    {
        byte[] data = LibsslJudges(kind);
        Assert.Equal("a.example", ClientHelloParserTests.AssertComplete(data).ServerName);
    }

    private static byte[] LibsslJudges(string kind)
    {
        ClientHelloBuilder builder = ClientHelloBuilder.Typical();
        byte[] message = builder.BuildMessage();
        switch (kind)
        {
            case "record version 3.0": return builder.Build(recordVersion: 0x0300);
            case "record version 3.5": return builder.Build(recordVersion: 0x0305);
            case "record version 3.255": return builder.Build(recordVersion: 0x03FF);
            case "second record version 3.5": return [.. ClientHelloParserTests.Record(0x16, 0x0301, message.AsSpan(0, 20)), .. ClientHelloParserTests.Record(0x16, 0x0305, message.AsSpan(20))];
            case "more handshake bytes after the hello in its record": return ClientHelloParserTests.Record(0x16, 0x0301, [.. message, 0x14, 0x00]);
            case "32 empty handshake records": return [.. Enumerable.Repeat(ClientHelloParserTests.Record(0x16, 0x0301, []), 32).SelectMany(r => r), .. builder.Build()];
        }
        switch (kind)
        {
            case "hello version 2.3": builder.HelloVersion = 0x0203; break;
            case "hello version 4.0": builder.HelloVersion = 0x0400; break;
            case "hello version 0x7f1c": builder.HelloVersion = 0x7F1C; break;
            case "hello version 0": builder.HelloVersion = 0; break;
            case "session id of 33 bytes": builder.SessionId = new byte[33]; break;
            case "no cipher suites": builder.CipherSuites = []; break;
            case "no compression methods": builder.Compression = []; break;
            case "an unknown extension twice": builder.Extensions.AddRange([(0x1234, []), (0x1234, [1])]); break;
            case "a GREASE extension twice": builder.Extensions.Add((0x0A0A, [])); break;
            case "supported_groups twice": builder.Extensions.AddRange([(10, [0, 2, 0, 0x1D]), (10, [0, 2, 0, 0x1D])]); break;
            case "malformed supported_versions": builder.Extensions[3] = (43, [3, 3, 4, 3]); break;
            case "pre_shared_key not last": builder.Extensions.Insert(0, (41, [0, 0])); break;
            case "150 unknown extensions": builder.Extensions.AddRange(Enumerable.Range(0, 150).Select(i => ((ushort)(0x3000 + i), new byte[i % 7]))); break;
            case "duplicate ALPN names": builder.Extensions[2] = (16, ClientHelloBuilder.Alpn("h2", "h2", "http/1.1")); break;
            case "odd cipher suite vector": return WithCipherSuiteBytes(0xC0, 0x2B, 0x13);
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
        return builder.Build();
    }

    /// <summary>Typical, with <paramref name="suites"/> as the cipher suite vector's content.</summary>
    private static byte[] WithCipherSuiteBytes(params byte[] suites)
    {
        const int At = ClientHelloParserTests.CipherSuitesOffset;
        byte[] message = ClientHelloBuilder.Typical().BuildMessage();
        int oldLength = (message[At] << 8) | message[At + 1];
        byte[] body = [.. message.AsSpan(4, At - 4), 0, (byte)suites.Length, .. suites, .. message.AsSpan(At + 2 + oldLength)];
        return ClientHelloBuilder.ToRecords(ClientHelloParserTests.Handshake(body), 16384);
    }
}
