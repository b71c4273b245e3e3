using System.Security.Cryptography;
using Baton.Configuration;

namespace Baton.Tls;

/// <summary>
/// The keys that protect TLS session tickets (TLS 1.2 tickets and TLS 1.3 stateless PSK tickets): the first key
/// encrypts new tickets, every key decrypts. A ticket under an older key still resumes and is replaced by one under
/// the current key. Give the same ring (or rings loaded from the same key file) to several contexts or fronts so a
/// ticket issued by one resumes on the others. Thread-safe.
/// <para>
/// Key file format (nginx's 80-byte <c>ssl_session_ticket_key</c> layout): one or more 80-byte entries, no separators,
/// each 16 bytes key name ‖ 32 bytes HMAC-SHA256 key ‖ 32 bytes AES-256-CBC key. The first entry encrypts. Rotate by
/// writing a new entry first, keeping the previous ones after it for as long as their tickets should resume, and
/// reloading every front (e.g. <c>head -c 80 /dev/urandom</c> + old file). Keep the file secret (mode 0600).
/// </para>
/// </summary>
internal sealed class TicketKeyRing
{
    public const int KeyEntryLength = SessionTicketOptions.KeyEntryLength;

    private readonly Lock _gate = new();
    private readonly TimeProvider? _time;
    private readonly TimeSpan _rotationInterval;
    private readonly TimeSpan _decryptionWindow;
    // Newest first; _keys[0] encrypts.
    private List<TicketKey> _keys;
    // Changes with every change of _keys (a rotation, a key dropped, a replacement), so a holder of a copy can tell it is
    // stale. Drawn from one counter for every ring: a copy of another ring (a reload's) never looks current.
    private static long s_versions;
    private long _version = Interlocked.Increment(ref s_versions);

    private TicketKeyRing(List<TicketKey> keys, TimeProvider? time, TimeSpan rotationInterval, TimeSpan decryptionWindow)
    {
        _keys = keys;
        _time = time;
        _rotationInterval = rotationInterval;
        _decryptionWindow = decryptionWindow;
    }

    /// <summary>Fixed keys from key-file contents (n × 80 bytes, first one encrypts). Never rotates by itself.</summary>
    public static TicketKeyRing FromKeys(ReadOnlySpan<byte> entries)
    {
        return new TicketKeyRing(ParseEntries(entries, DateTimeOffset.MinValue), time: null, TimeSpan.Zero, TimeSpan.Zero);
    }

    private static List<TicketKey> ParseEntries(ReadOnlySpan<byte> entries, DateTimeOffset created)
    {
        if (entries.IsEmpty || entries.Length % KeyEntryLength != 0 || entries.Length > SessionTicketOptions.MaxKeys * KeyEntryLength)
        {
            throw new ArgumentException(
                $"A ticket key file holds 1..{SessionTicketOptions.MaxKeys} keys of {KeyEntryLength} bytes, not {entries.Length} bytes.", nameof(entries));
        }
        var keys = new List<TicketKey>();
        for (int offset = 0; offset < entries.Length; offset += KeyEntryLength)
        {
            keys.Add(new TicketKey(entries.Slice(offset, KeyEntryLength), created));
        }
        return keys;
    }

    /// <summary>Loads a key file (see the class summary for its format); the bytes read are wiped afterwards.</summary>
    public static TicketKeyRing FromKeyFile(string path)
    {
        byte[] contents = File.ReadAllBytes(path);
        try
        {
            return FromKeys(contents);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contents);
        }
    }

    /// <summary>
    /// Random keys kept in memory: a new encryption key every <paramref name="rotationInterval"/>; a replaced key keeps
    /// decrypting for <paramref name="decryptionWindow"/> after it stopped encrypting, then it is wiped. Rotation happens
    /// lazily, when a handshake asks for a key.
    /// </summary>
    public static TicketKeyRing CreateRotating(TimeSpan rotationInterval, TimeSpan decryptionWindow, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(rotationInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(decryptionWindow, TimeSpan.Zero);
        TimeProvider time = timeProvider ?? TimeProvider.System;
        return new TicketKeyRing([TicketKey.CreateRandom(time.GetUtcNow())], time, rotationInterval, decryptionWindow);
    }

    /// <summary>The front's one ring for <paramref name="options"/>: the key file's keys, else rotating ones made in memory.</summary>
    public static TicketKeyRing For(SessionTicketOptions options) => options.KeyFile is not null
        ? FromKeyFile(options.KeyFile)
        : CreateRotating(options.RotationInterval, options.DecryptionWindow);

    /// <summary>
    /// Replaces every key with <paramref name="entries"/> (n × 80 bytes, first one encrypts; a reload's new key file, or
    /// the ring a passthrough worker receives from its front). The replaced keys are wiped. A rotating ring keeps rotating
    /// from the new keys; the new keys count as made now.
    /// </summary>
    public void ReplaceKeys(ReadOnlySpan<byte> entries)
    {
        List<TicketKey> keys = ParseEntries(entries, _time?.GetUtcNow() ?? DateTimeOffset.MinValue);
        lock (_gate)
        {
            foreach (TicketKey key in _keys) key.Wipe();
            _keys = keys;
            _version = Interlocked.Increment(ref s_versions);
        }
    }

    /// <summary>
    /// Every key as key-file entries, the encrypting one first (the caller wipes the copy), after any rotation that is
    /// due; <paramref name="version"/> says which state of the ring it is.
    /// </summary>
    internal byte[] ExportKeys(out long version)
    {
        lock (_gate)
        {
            Maintain();
            byte[] entries = new byte[_keys.Count * KeyEntryLength];
            for (int i = 0; i < _keys.Count; i++)
                _keys[i].CopyTo(entries.AsSpan(i * KeyEntryLength, KeyEntryLength));
            version = _version;
            return entries;
        }
    }

    /// <summary>Which state the ring is in, after any rotation that is due; changes whenever a key is added, dropped or replaced.</summary>
    internal long CurrentVersion()
    {
        lock (_gate)
        {
            Maintain();
            return _version;
        }
    }

    /// <summary>80 random bytes: one key-file entry.</summary>
    public static byte[] GenerateKeyEntry() => RandomNumberGenerator.GetBytes(KeyEntryLength);

    /// <summary>Copies the 80-byte entry of the key that encrypts new tickets (the caller wipes the copy).</summary>
    internal void CopyEncryptionKey(Span<byte> material)
    {
        lock (_gate)
        {
            Maintain();
            _keys[0].CopyTo(material);
        }
    }

    /// <summary>Copies the entry of the key a ticket names; isCurrent false means the ticket should be renewed.</summary>
    internal bool TryCopyKey(ReadOnlySpan<byte> name, Span<byte> material, out bool isCurrent)
    {
        lock (_gate)
        {
            Maintain();
            for (int i = 0; i < _keys.Count; i++)
            {
                if (!CryptographicOperations.FixedTimeEquals(_keys[i].Name, name)) continue;
                _keys[i].CopyTo(material);
                isCurrent = i == 0;
                return true;
            }
        }
        isCurrent = false;
        return false;
    }

    /// <summary>Rotating rings only: adds a new key when the current one is due and drops keys past their window.</summary>
    private void Maintain()
    {
        if (_time is null) return;
        DateTimeOffset now = _time.GetUtcNow();
        if (now - _keys[0].Created >= _rotationInterval)
        {
            _keys[0].Retired = now;
            _keys = [TicketKey.CreateRandom(now), .. _keys];
            _version = Interlocked.Increment(ref s_versions);
        }
        for (int i = _keys.Count - 1; i > 0; i--)
        {
            // At most what a key file (and a worker's channel message) holds: a window many intervals long keeps the newest.
            if (now - _keys[i].Retired <= _decryptionWindow && i < SessionTicketOptions.MaxKeys) continue;
            // Callbacks copy key bytes under the lock, so nothing uses a dropped key any more.
            _keys[i].Wipe();
            _keys.RemoveAt(i);
            _version = Interlocked.Increment(ref s_versions);
        }
    }
}

/// <summary>One ticket key: 16-byte name ‖ 32-byte HMAC-SHA256 key ‖ 32-byte AES-256 key.</summary>
internal sealed class TicketKey
{
    private readonly byte[] _material = new byte[TicketKeyRing.KeyEntryLength];

    internal TicketKey(ReadOnlySpan<byte> material, DateTimeOffset created)
    {
        material.CopyTo(_material);
        Created = created;
    }

    public DateTimeOffset Created { get; }

    /// <summary>When a newer key replaced this one for encryption.</summary>
    public DateTimeOffset Retired { get; set; } = DateTimeOffset.MaxValue;

    public ReadOnlySpan<byte> Name => _material.AsSpan(0, 16);

    public void CopyTo(Span<byte> destination) => _material.CopyTo(destination);

    public static TicketKey CreateRandom(DateTimeOffset created)
    {
        Span<byte> material = stackalloc byte[TicketKeyRing.KeyEntryLength];
        RandomNumberGenerator.Fill(material);
        var key = new TicketKey(material, created);
        CryptographicOperations.ZeroMemory(material);
        return key;
    }

    public void Wipe() => CryptographicOperations.ZeroMemory(_material);
}
