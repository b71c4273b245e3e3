using System.Buffers.Binary;
using System.Text;

namespace Baton.Tests.Inspection;

/// <summary>Builds ClientHello handshake messages and wraps them in TLS records, byte by byte as on the wire.</summary>
internal sealed class ClientHelloBuilder
{
    public ushort HelloVersion { get; set; } = 0x0303;
    public byte[] SessionId { get; set; } = new byte[32];
    public ushort[] CipherSuites { get; set; } = [0x1301, 0x1302, 0xC02F];
    public byte[] Compression { get; set; } = [0];
    public List<(ushort Type, byte[] Data)> Extensions { get; } = [];

    /// <summary>When false the message has no extensions block at all (legal before TLS 1.3).</summary>
    public bool WithExtensionBlock { get; set; } = true;

    public static ClientHelloBuilder Typical(string? serverName = "a.example")
    {
        var builder = new ClientHelloBuilder();
        builder.Extensions.Add((0x0A0A, [])); // GREASE
        if (serverName is not null)
        {
            builder.Extensions.Add((0, ServerName(serverName)));
        }
        builder.Extensions.Add((16, Alpn("h2", "http/1.1")));
        builder.Extensions.Add((43, SupportedVersions(0x3A3A, 0x0304, 0x0303)));
        builder.Extensions.Add((0xFE0D, new byte[40])); // encrypted_client_hello (outer): just another extension
        return builder;
    }

    public byte[] BuildMessage()
    {
        var body = new List<byte>();
        AddU16(body, HelloVersion);
        body.AddRange(new byte[32]);
        body.Add((byte)SessionId.Length);
        body.AddRange(SessionId);
        AddU16(body, (ushort)(CipherSuites.Length * 2));
        foreach (ushort suite in CipherSuites)
        {
            AddU16(body, suite);
        }
        body.Add((byte)Compression.Length);
        body.AddRange(Compression);
        if (WithExtensionBlock)
        {
            var block = new List<byte>();
            foreach ((ushort type, byte[] data) in Extensions)
            {
                AddU16(block, type);
                AddU16(block, (ushort)data.Length);
                block.AddRange(data);
            }
            AddU16(body, (ushort)block.Count);
            body.AddRange(block);
        }
        return [1, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count, .. body];
    }

    public byte[] Build(int fragmentSize = 16384, ushort recordVersion = 0x0301) =>
        ToRecords(BuildMessage(), fragmentSize, recordVersion);

    /// <summary>Splits a handshake message into handshake records of at most fragmentSize payload bytes.</summary>
    public static byte[] ToRecords(ReadOnlySpan<byte> message, int fragmentSize, ushort recordVersion = 0x0301)
    {
        var records = new List<byte>();
        for (int offset = 0; offset < message.Length; offset += fragmentSize)
        {
            int length = Math.Min(fragmentSize, message.Length - offset);
            records.Add(0x16);
            AddU16(records, recordVersion);
            AddU16(records, (ushort)length);
            records.AddRange(message.Slice(offset, length).ToArray());
        }
        return [.. records];
    }

    /// <summary>Takes the handshake message back out of records (the test's own reassembly).</summary>
    public static byte[] MessageOf(ReadOnlySpan<byte> records)
    {
        var message = new List<byte>();
        while (records.Length >= 5)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(records.Slice(3));
            message.AddRange(records.Slice(5, length).ToArray());
            records = records.Slice(5 + length);
        }
        return [.. message];
    }

    public static byte[] ServerName(string host) => ServerNameList((0, Encoding.ASCII.GetBytes(host)));

    public static byte[] ServerNameList(params (byte Type, byte[] Name)[] entries)
    {
        var list = new List<byte>();
        foreach ((byte type, byte[] name) in entries)
        {
            list.Add(type);
            AddU16(list, (ushort)name.Length);
            list.AddRange(name);
        }
        return Vector16(list);
    }

    public static byte[] Alpn(params string[] protocols)
    {
        var list = new List<byte>();
        foreach (string protocol in protocols)
        {
            list.Add((byte)protocol.Length);
            list.AddRange(Encoding.Latin1.GetBytes(protocol));
        }
        return Vector16(list);
    }

    public static byte[] SupportedVersions(params ushort[] versions)
    {
        var list = new List<byte> { (byte)(versions.Length * 2) };
        foreach (ushort version in versions)
        {
            AddU16(list, version);
        }
        return [.. list];
    }

    private static byte[] Vector16(List<byte> content)
    {
        var vector = new List<byte>();
        AddU16(vector, (ushort)content.Count);
        vector.AddRange(content);
        return [.. vector];
    }

    private static void AddU16(List<byte> bytes, ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }
}
