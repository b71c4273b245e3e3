using System.Security.Cryptography;
using Baton.Tls.Session;
using Baton.Tls.Records;
using BenchmarkDotNet.Attributes;

namespace Baton.Benchmarks;

/// <summary>
/// Sealing and opening one record in memory (no socket), to compare with `openssl speed -evp aes-256-gcm`
/// at 16384 bytes: the record layer should stay above 80% of it.
/// </summary>
[MemoryDiagnoser]
public class RecordBenchmarks
{
    private TlsRecordProtector _writer = null!;
    private TlsRecordProtector _reader = null!;
    private byte[] _plaintext = null!;
    private byte[] _record = null!;
    private byte[] _sealed = null!;
    private int _recordLength;

    [Params((ushort)0x1301, (ushort)0x1302, (ushort)0x1303)]
    public ushort Suite { get; set; }

    [Params(100, 16384)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TlsCipherSuiteInfo suite = TlsCipherSuiteInfo.Get(Suite);
        byte[] key = RandomNumberGenerator.GetBytes(suite.KeyLength), iv = RandomNumberGenerator.GetBytes(suite.IvLength);
        _writer = new TlsRecordProtector(suite, encrypt: true, key, iv, 0);
        _reader = new TlsRecordProtector(suite, encrypt: false, key, iv, 0);
        _plaintext = RandomNumberGenerator.GetBytes(Size);
        _record = new byte[Size + _writer.Overhead];
        _sealed = new byte[_record.Length];
        _recordLength = _writer.Seal(TlsContentType.ApplicationData, _plaintext, _sealed);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Dispose();
        _reader.Dispose();
    }

    [Benchmark]
    public int Seal() => _writer.Seal(TlsContentType.ApplicationData, _plaintext, _record);

    /// <summary>Opening decrypts in place, so each run restores the ciphertext first (see CopyOnly for that cost).</summary>
    [Benchmark]
    public bool Open()
    {
        _sealed.AsSpan(0, _recordLength).CopyTo(_record);
        _reader.Sequence = 0;
        return _reader.TryOpen(_record.AsSpan(0, _recordLength), out _, out _, out _, out _);
    }

    [Benchmark]
    public void CopyOnly() => _sealed.AsSpan(0, _recordLength).CopyTo(_record);
}

/// <summary>Serializing and parsing the handoff state that travels with every handed-off connection.</summary>
[MemoryDiagnoser]
public class SessionStateBenchmarks
{
    private TlsSessionState _state = null!;
    private readonly byte[] _wire = new byte[TlsSessionState.MaxEncodedLength];
    private int _length;

    [GlobalSetup]
    public void Setup()
    {
        _state = TlsSessionState.FromTls13(0x1302, RandomNumberGenerator.GetBytes(48), RandomNumberGenerator.GetBytes(48), 1, 2);
        _length = _state.Write(_wire);
    }

    [Benchmark]
    public int Write() => _state.Write(_wire);

    [Benchmark]
    public bool Read()
    {
        bool ok = TlsSessionState.TryRead(_wire.AsSpan(0, _length), out TlsSessionState? state, out _);
        state?.Dispose();
        return ok;
    }
}
