using System.Buffers.Binary;
using System.Net.Sockets;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// A client that writes arbitrary (also illegal) records on a real socket and reads the server's records one by one.
/// Its protectors are built from the server state before the server stream takes that state over.
/// </summary>
internal sealed class RawTlsPeer : IAsyncDisposable
{
    private readonly TlsRecordProtector _writer;
    private readonly TlsRecordProtector _reader;

    public RawTlsPeer(NetworkStream net, TlsSessionState serverState)
    {
        Net = net;
        Suite = serverState.Suite;
        WriteKey = serverState.ReadKey.ToArray();
        WriteIv = serverState.ReadIv.ToArray();
        WriteSecret = serverState.ReadSecret.ToArray();
        ReadSecret = serverState.WriteSecret.ToArray();
        _writer = new TlsRecordProtector(Suite, encrypt: true, WriteKey, WriteIv, serverState.ReadSequence);
        _reader = new TlsRecordProtector(Suite, encrypt: false, serverState.WriteKey, serverState.WriteIv, serverState.WriteSequence);
    }

    public NetworkStream Net { get; }

    public TlsCipherSuiteInfo Suite { get; }

    public byte[] WriteKey { get; }

    public byte[] WriteIv { get; }

    public byte[] WriteSecret { get; }

    /// <summary>The server's write secret of the epoch this peer reads (TLS 1.3), moved on by <see cref="ExpectKeyUpdateAsync"/>.</summary>
    public byte[] ReadSecret { get; }

    public ulong WriteSequence => _writer.Sequence;

    public Task SendAsync(TlsContentType type, params byte[] content)
    {
        byte[] record = new byte[content.Length + _writer.Overhead];
        _writer.Seal(type, content, record);
        return SendRawAsync(record);
    }

    public Task SendRawAsync(byte[] bytes) => Net.WriteAsync(bytes).AsTask().WaitAsync(RecordTestSupport.Deadline);

    /// <summary>Reads and opens the next record from the server.</summary>
    public async Task<(TlsContentType Type, byte[] Content)> ReceiveAsync()
    {
        byte[] header = await RecordTestSupport.ReadExactlyAsync(Net, 5);
        byte[] record = [.. header, .. await RecordTestSupport.ReadExactlyAsync(Net, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3)))];
        Assert.True(_reader.TryOpen(record, out TlsContentType type, out int offset, out int length, out _), "server record did not open");
        return (type, record.AsSpan(offset, length).ToArray());
    }

    /// <summary>Asserts that the next server record is the given alert.</summary>
    public async Task ExpectAlertAsync(byte level, TlsAlertDescription description)
    {
        var (type, content) = await ReceiveAsync();
        Assert.Equal(TlsContentType.Alert, type);
        Assert.Equal([level, (byte)description], content);
    }

    /// <summary>Sends a KeyUpdate under the current key, then writes under the next one.</summary>
    public async Task SendKeyUpdateAsync(bool requestUpdate)
    {
        await SendAsync(TlsContentType.Handshake, 24, 0, 0, 1, requestUpdate ? (byte)1 : (byte)0);
        AdvanceWriteKey();
    }

    /// <summary>Writes under the next key from now on (after a KeyUpdate sent some other way).</summary>
    public void AdvanceWriteKey() => NextKey(WriteSecret, _writer);

    /// <summary>Asserts that the next server record is a KeyUpdate, then reads under the server's next key.</summary>
    public async Task ExpectKeyUpdateAsync(byte requestUpdate)
    {
        var (type, content) = await ReceiveAsync();
        Assert.Equal(TlsContentType.Handshake, type);
        Assert.Equal([24, 0, 0, 1, requestUpdate], content);
        NextKey(ReadSecret, _reader);
    }

    /// <summary>Asserts that the next server record is application data with this content.</summary>
    public async Task ExpectDataAsync(byte[] expected)
    {
        var (type, content) = await ReceiveAsync();
        Assert.Equal(TlsContentType.ApplicationData, type);
        Assert.Equal(expected, content);
    }

    /// <summary>Ends the connection with a TCP reset (SO_LINGER 0), as browsers and impatient clients do.</summary>
    public void Reset()
    {
        Net.Socket.LingerState = new LingerOption(true, 0);
        Net.Socket.Close();
    }

    public async Task ExpectEndOfStreamAsync() =>
        Assert.Equal(0, await Net.ReadAsync(new byte[1]).AsTask().WaitAsync(RecordTestSupport.Deadline));

    private void NextKey(byte[] secret, TlsRecordProtector protector)
    {
        TlsKeySchedule.UpdateTrafficSecret(Suite, secret);
        byte[] key = new byte[Suite.KeyLength], iv = new byte[Suite.IvLength];
        TlsKeySchedule.DeriveTls13Keys(Suite, secret, key, iv);
        protector.Rekey(key, iv);
    }

    public ValueTask DisposeAsync()
    {
        _writer.Dispose();
        _reader.Dispose();
        return Net.DisposeAsync();
    }
}
