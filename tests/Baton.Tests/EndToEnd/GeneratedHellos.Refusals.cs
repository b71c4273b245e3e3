using Baton.Tests.Inspection;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// The hellos the front's peek still refuses, one fault each, with the answer s_server gives the same bytes (which the
/// front must give too), and faults the front leaves to libssl next to them: what the front reads, it reads as libssl
/// does; what it does not read, libssl answers.
/// </summary>
internal static partial class GeneratedHellos
{
    private static IEnumerable<(string Name, Spec Spec)> Refusals()
    {
        static (string, Spec) Refused(string name, string outcome, Spec spec) => ($"refused: {name}", spec with { Expected = All(outcome) });

        yield return Refused("not TLS at all (an SSH banner)", "closed", new Spec { Frame = _ => "SSH-2.0-OpenSSH_9.6\r\n"u8.ToArray() });
        yield return Refused("an application data record first", "alert 10", new Spec { Frame = m => Record(0x17, 0x0301, m) });
        yield return Refused("33 empty handshake records in a row", "alert 10", new Spec { Frame = m => [.. Empty(33), .. Record(0x16, 0x0301, m)] });
        yield return ("32 empty handshake records in a row, then the hello", new Spec { Frame = m => [.. Empty(32), .. Record(0x16, 0x0301, m)] });
        yield return Refused("a record over 2^14 bytes", "alert 22", new Spec { Frame = m => Record(0x16, 0x0301, [.. m, .. new byte[16385 - m.Length]]) });
        yield return Refused("a second record of version 2.1", "alert 70",
            new Spec { Frame = m => [.. Record(0x16, 0x0301, m.AsSpan(0, 30)), .. Record(0x16, 0x0201, m.AsSpan(30))] });
        yield return Refused("a first message that is not a ClientHello", "alert 10", new Spec { Frame = m => Record(0x16, 0x0301, [0x02, .. m.AsSpan(1)]) });
        yield return Refused("a session id that overruns the hello", "alert 50", new Spec { Frame = m => Record(0x16, 0x0301, [.. m.AsSpan(0, 38), 0xFF, .. m.AsSpan(39)]) });
        yield return Refused("more handshake bytes after a TLS 1.3 hello in its record", "alert 10", new Spec { Frame = m => Record(0x16, 0x0301, [.. m, 20, 0]) });
        yield return ("more handshake bytes after a TLS 1.2 hello in its record", new Spec { Tls13 = false, Frame = m => Record(0x16, 0x0301, [.. m, 20, 0]) });
        yield return Refused("an SSLv2-format hello", "alert 40", new Spec { Frame = _ => SslV2Hello() });
        yield return Refused("server_name twice", "alert 47", new Spec { Edit = b => b.Extensions.Add((0, ClientHelloBuilder.ServerName("localhost"))) });
        yield return Refused("ALPN twice", "alert 47", new Spec { Edit = b => b.Extensions.Add((16, ClientHelloBuilder.Alpn("h2"))) });
        yield return Refused("two host names", "alert 50", new Spec { Edit = b => b.Extensions[0] = (0, ClientHelloBuilder.ServerNameList((0, "a.example"u8.ToArray()), (0, "b.example"u8.ToArray()))) });
        yield return Refused("a server name of another type than host_name", "alert 50", new Spec { Edit = b => b.Extensions[0] = (0, ClientHelloBuilder.ServerNameList((7, [1, 2]))) });
        yield return Refused("an empty server_name list", "alert 50", new Spec { Edit = b => b.Extensions[0] = (0, [0, 0]) });
        yield return Refused("a host name with a zero byte", "alert 112", new Spec { HostName = "local\0host"u8.ToArray() });
        yield return Refused("a 256-byte host name", "alert 112", new Spec { HostName = [.. Enumerable.Repeat((byte)'a', 256)] });
        yield return Refused("an empty ALPN list", "alert 50", new Spec { Edit = b => b.Extensions[4] = (16, [0, 0]) });
        yield return Refused("an ALPN list with a byte after it", "alert 50", new Spec { Edit = b => b.Extensions[4] = (16, [.. ClientHelloBuilder.Alpn("h2"), 0]) });
        // The front does not read these: libssl refuses them, with its own alert, in both modes.
        yield return Refused("supported_groups twice (libssl's)", "alert 47", new Spec { Edit = b => b.Extensions.Add((10, [0, 2, 0, 0x1D])) });
        yield return Refused("pre_shared_key not last (libssl's)", "alert 47", new Spec { Edit = b => b.Extensions.Insert(0, (41, [0, 0])) });
        yield return Refused("no cipher suites (libssl's)", "alert 47", new Spec { Edit = b => b.CipherSuites = [] });
        yield return Refused("a session id of 33 bytes (libssl's)", "alert 50", new Spec { Edit = b => b.SessionId = new byte[33] });
    }

    private static byte[] Record(byte type, ushort version, ReadOnlySpan<byte> payload) =>
        [type, .. U16(version), .. U16((ushort)payload.Length), .. payload];

    private static byte[] Empty(int count) => [.. Enumerable.Repeat(Record(0x16, 0x0301, []), count).SelectMany(r => r)];

    /// <summary>SSLv2-format, version TLS 1.2, two ECDHE suites as 3-byte specs, a 16-byte challenge: libssl reads it, and refuses it.</summary>
    private static byte[] SslV2Hello()
    {
        byte[] body = [0x01, 0x03, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10, 0x00, 0xC0, 0x2B, 0x00, 0xC0, 0x2F, .. new byte[16]];
        return [(byte)(0x80 | (body.Length >> 8)), (byte)body.Length, .. body];
    }
}
