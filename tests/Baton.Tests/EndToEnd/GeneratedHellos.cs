using Baton.Tests.Inspection;

namespace Baton.Tests.EndToEnd;

/// <summary>
/// ClientHellos that real clients send or may send, generated along every axis libssl is lenient on: any size up to the
/// raised limit (post-quantum key shares make hellos bigger every year), hundreds of extensions in any order, GREASE
/// (RFC 8701) in every list that takes it, unknown versions, groups and extensions, odd host names and ALPN lists, and
/// any cut into records and TCP segments. Each case is built from its name alone (seeded), so a failing one reruns by
/// itself. Every case says what s_server answers, so a generator that produced garbage could not pass unnoticed.
/// </summary>
internal static partial class GeneratedHellos
{
    public const string Proceeds = "proceeds";

    /// <summary>Limits:ClientHelloMaxBytes of the fronts these hellos are sent to.</summary>
    public const int RaisedLimit = 65536;

    private const ushort X25519 = 0x1D, Secp256r1 = 0x17, X25519MlKem768 = 0x11EC;
    private const ushort Padding = 21;

    private static readonly Dictionary<string, Spec> s_cases = CreateCases();

    public static TheoryData<string> Names
    {
        get
        {
            var names = new TheoryData<string>();
            foreach (string name in s_cases.Keys) names.Add(name);
            return names;
        }
    }

    public static GeneratedHello Build(string name)
    {
        Spec spec = s_cases[name];
        byte[] message = Message(spec);
        byte[] wire = spec.Frame?.Invoke(message) ?? Records(spec, message);
        return new GeneratedHello(Segments(spec, wire), spec.Expected);
    }

    /// <summary>What the hello is made of; the defaults are a TLS 1.3 hello Baton's policy (and s_server with it) accepts.</summary>
    internal sealed record Spec
    {
        public int Seed { get; init; }
        public bool Tls13 { get; init; } = true;
        public ushort LegacyVersion { get; init; } = 0x0303;
        public ushort RecordVersion { get; init; } = 0x0301;
        public bool Grease { get; init; }
        public int UnknownExtensions { get; init; }
        public bool Shuffled { get; init; }
        public int? PadTo { get; init; }
        public ushort[] UnknownVersions { get; init; } = [];
        public ushort[] UnknownGroups { get; init; } = [];
        public bool OnlyUnknownKeyShares { get; init; }
        public byte[][] Alpn { get; init; } = ["h2"u8.ToArray(), "http/1.1"u8.ToArray()];
        public byte[] HostName { get; init; } = "localhost"u8.ToArray();
        public int MinRecord { get; init; } = 16384;
        public int MaxRecord { get; init; } = 16384;
        public int Segments { get; init; } = 1;

        /// <summary>Changes the hello once its extensions are in (a refusal case's fault).</summary>
        public Action<ClientHelloBuilder>? Edit { get; init; }

        /// <summary>Makes the bytes on the wire from the message instead of <see cref="Records"/> (a framing fault).</summary>
        public Func<byte[], byte[]>? Frame { get; init; }

        /// <summary>Outcome by server (s_server, handoff, passthrough); a server not named expects <see cref="Proceeds"/>.</summary>
        public Dictionary<string, string> Expected { get; init; } = [];
    }

    private static Dictionary<string, Spec> CreateCases()
    {
        var cases = new Dictionary<string, Spec>();
        foreach (int size in new[] { 512, 2048, 8192, 16384, 40000, RaisedLimit })
        {
            cases[$"TLS 1.3, {size} bytes"] = new Spec { PadTo = size, Seed = size };
            cases[$"TLS 1.2, {size} bytes"] = new Spec { Tls13 = false, PadTo = size, Seed = size };
        }
        cases["post-quantum key share (X25519MLKEM768, unknown to libssl 3.0) before X25519"] = new Spec { UnknownGroups = [X25519MlKem768] };
        cases["key shares for unknown groups only (a HelloRetryRequest)"] = new Spec { UnknownGroups = [0x1234, X25519MlKem768], OnlyUnknownKeyShares = true };
        cases["120 unknown extensions"] = new Spec { UnknownExtensions = 120, Seed = 120 };
        cases["300 unknown extensions, shuffled"] = new Spec { UnknownExtensions = 300, Shuffled = true, Seed = 300 };
        cases["GREASE everywhere"] = new Spec { Grease = true, Seed = 7 };
        cases["GREASE everywhere, TLS 1.2"] = new Spec { Grease = true, Tls13 = false, Seed = 8 };
        for (int seed = 1; seed <= 4; seed++)
            cases[$"shuffled extensions #{seed}"] = new Spec { Shuffled = true, Grease = true, UnknownExtensions = 10, Seed = seed };
        cases["every byte its own record"] = new Spec { MinRecord = 1, MaxRecord = 1 };
        cases["every byte its own record, TLS 1.2"] = new Spec { Tls13 = false, MinRecord = 1, MaxRecord = 1 };
        cases["every byte its own record, 2 KiB post-quantum sized"] = new Spec { PadTo = 2048, MinRecord = 1, MaxRecord = 1 };
        cases["records of 1 to 7 bytes in 25 segments"] = new Spec { MinRecord = 1, MaxRecord = 7, Segments = 25, Seed = 17 };
        cases["a 40,000-byte hello in records of 100 to 3,000 bytes in 9 segments"] = new Spec { PadTo = 40000, MinRecord = 100, MaxRecord = 3000, Segments = 9, Seed = 40 };
        cases["one record in 40 segments, cut inside the record header too"] = new Spec { Segments = 40, Seed = 3 };
        foreach (ushort version in new ushort[] { 0x0300, 0x0303, 0x0304, 0x0305, 0x03FF })
            cases[$"record version 0x{version:X4}"] = new Spec { RecordVersion = version };
        foreach (ushort version in new ushort[] { 0x0301, 0x0304, 0x0305, 0x0400, 0x7F1C, 0xFFFF })
            cases[$"legacy_version 0x{version:X4}, TLS 1.3 in supported_versions"] = new Spec { LegacyVersion = version };
        foreach (ushort version in new ushort[] { 0x0304, 0x0305, 0x0400 })
            cases[$"legacy_version 0x{version:X4}, TLS 1.2"] = new Spec { Tls13 = false, LegacyVersion = version };
        cases["legacy_version 0x0300 (below the minimum), TLS 1.3"] = new Spec { LegacyVersion = 0x0300, Expected = All("alert 40") };
        cases["legacy_version 0x0203 (not SSL 3 or TLS), TLS 1.2"] = new Spec { Tls13 = false, LegacyVersion = 0x0203, Expected = All("alert 70") };
        cases["unknown and GREASE versions in supported_versions"] = new Spec { UnknownVersions = [0x7A7A, 0x7F1C, 0x0305, 0x0400] };
        cases["duplicate ALPN names"] = new Spec { Alpn = ["h2"u8.ToArray(), "h2"u8.ToArray(), "http/1.1"u8.ToArray(), "http/1.1"u8.ToArray()] };
        cases["100 unknown ALPN names, then http/1.1"] = new Spec { Alpn = [.. Enumerable.Range(0, 100).Select(i => System.Text.Encoding.ASCII.GetBytes($"x-{i}")), "http/1.1"u8.ToArray()] };
        cases["a 255-byte ALPN name, then h2"] = new Spec { Alpn = [new byte[255], "h2"u8.ToArray()] };
        cases["an empty ALPN name"] = new Spec { Alpn = ["h2"u8.ToArray(), []], Expected = All("alert 50") };
        cases["no ALPN name in common"] = new Spec { Alpn = ["spdy/3"u8.ToArray()], Expected = All("alert 120") };
        foreach (string host in new[] { "", "a..example", "localhost.", "a b", "LOCALHOST", "127.0.0.1" })
            cases[$"host name '{host}'"] = new Spec { HostName = System.Text.Encoding.ASCII.GetBytes(host) };
        for (int seed = 100; seed < 124; seed++)
            cases[$"a random mix #{seed}"] = RandomMix(seed);
        foreach ((string name, Spec spec) in Refusals())
            cases[name] = spec;
        cases[$"{RaisedLimit + 1} bytes, over the limit (policy)"] = new Spec
        {
            PadTo = RaisedLimit + 1,
            Expected = new() { [HandshakeServers.Handoff] = "alert 47", [HandshakeServers.Passthrough] = "alert 47" },
        };
        // Passthrough only: a handoff front lets libssl read the hello, which takes any split.
        cases["every byte of a 16 KiB hello its own record, past the peek window (policy)"] = new Spec
        {
            PadTo = 16384, MinRecord = 1, MaxRecord = 1,
            Expected = new() { [HandshakeServers.Passthrough] = "alert 47" },
        };
        return cases;
    }

    internal static Dictionary<string, string> All(string outcome) => new()
    {
        [HandshakeServers.Reference] = outcome, [HandshakeServers.Handoff] = outcome, [HandshakeServers.Passthrough] = outcome,
    };

    /// <summary>Several axes at once, each drawn from what libssl accepts.</summary>
    private static Spec RandomMix(int seed)
    {
        var random = new Random(seed);
        bool tls13 = random.Next(4) != 0;
        bool postQuantum = random.Next(2) == 0;
        // Padding to a size leaves the unknown extensions out, and the post-quantum key share alone takes 1,220 bytes.
        int size = new[] { 0, 0, postQuantum ? 0 : 700, 1800, 5000, 17000 }[random.Next(6)];
        int minRecord = new[] { 1, 16, 200, 16384 }[random.Next(4)];
        return new Spec
        {
            Seed = seed,
            Tls13 = tls13,
            LegacyVersion = tls13 ? new ushort[] { 0x0301, 0x0303, 0x0304, 0x0400 }[random.Next(4)] : (ushort)0x0303,
            RecordVersion = new ushort[] { 0x0300, 0x0301, 0x0303, 0x0305 }[random.Next(4)],
            Grease = random.Next(2) == 0,
            Shuffled = random.Next(2) == 0,
            UnknownExtensions = size == 0 && random.Next(3) == 0 ? random.Next(1, 200) : 0,
            PadTo = size == 0 ? null : size,
            UnknownVersions = tls13 && random.Next(2) == 0 ? [0x7F1C, 0x0305] : [],
            UnknownGroups = postQuantum ? [X25519MlKem768, 0x1234] : [],
            MinRecord = minRecord,
            MaxRecord = Math.Min(16384, minRecord * 4),
            Segments = random.Next(1, 12),
        };
    }

    private static byte[] Message(Spec spec)
    {
        var random = new Random(spec.Seed);
        var builder = new ClientHelloBuilder
        {
            HelloVersion = spec.LegacyVersion,
            CipherSuites = [.. spec.Grease ? [Grease(random)] : Array.Empty<ushort>(), 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0x009C, 0x002F],
        };
        random.NextBytes(builder.SessionId);
        builder.Extensions.AddRange(Extensions(spec, random));
        spec.Edit?.Invoke(builder);
        if (spec.Shuffled) random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(builder.Extensions));
        if (spec.PadTo is int size)
        {
            int unpadded = builder.BuildMessage().Length;
            builder.Extensions.Add((Padding, new byte[size - unpadded - 4]));
        }
        byte[] message = builder.BuildMessage();
        Assert.Equal(spec.PadTo ?? message.Length, message.Length);
        return message;
    }

    private static List<(ushort, byte[])> Extensions(Spec spec, Random random)
    {
        ushort greaseGroup = Grease(random);
        ushort[] groups = [.. spec.Grease ? [greaseGroup] : Array.Empty<ushort>(), .. spec.UnknownGroups, X25519, Secp256r1];
        var extensions = new List<(ushort, byte[])>
        {
            (0, ClientHelloBuilder.ServerNameList((0, spec.HostName))),
            (10, Vector16(groups.SelectMany(U16))),
            (11, [1, 0]), // ec_point_formats: uncompressed
            (13, Vector16(new ushort[] { 0x0403, 0x0804, 0x0401, 0x0503 }.SelectMany(U16))),
            (16, Vector16(spec.Alpn.SelectMany(name => (byte[])[(byte)name.Length, .. name]))),
            (23, []), // extended_master_secret
            (35, []), // session_ticket
            (0xFF01, [0]), // renegotiation_info
            (5, [1, 0, 0, 0, 0]), // status_request
            (18, []), // signed_certificate_timestamp
            (0x4469, [0, 3, 2, (byte)'h', (byte)'2']), // application_settings: unknown to libssl
            (0xFE0D, RandomBytes(random, 90)), // encrypted_client_hello (outer): unknown to libssl 3.0
        };
        if (spec.Tls13)
        {
            ushort[] versions = [.. spec.Grease ? [Grease(random)] : Array.Empty<ushort>(), .. spec.UnknownVersions, 0x0304, 0x0303];
            extensions.Add((43, [(byte)(versions.Length * 2), .. versions.SelectMany(U16)]));
            extensions.Add((45, [1, 1])); // psk_key_exchange_modes: psk_dhe_ke
            extensions.Add((51, Vector16(KeyShares(spec, greaseGroup, random))));
        }
        if (spec.Grease)
        {
            extensions.Insert(0, (Grease(random), []));
            extensions.Add((Grease(random), [0]));
        }
        for (int i = 0; i < spec.UnknownExtensions; i++)
            extensions.Add(((ushort)(0x5000 + i), RandomBytes(random, random.Next(9))));
        return extensions;
    }

    /// <summary>A share for each unknown group and X25519; a GREASE share (one byte, as Chrome sends) for the GREASE group listed.</summary>
    private static IEnumerable<byte> KeyShares(Spec spec, ushort greaseGroup, Random random)
    {
        var shares = new List<byte>();
        if (spec.Grease) shares.AddRange([.. U16(greaseGroup), 0, 1, 0]);
        foreach (ushort group in spec.UnknownGroups)
            shares.AddRange([.. U16(group), .. Vector16(RandomBytes(random, group == X25519MlKem768 ? 1216 : 40))]);
        if (!spec.OnlyUnknownKeyShares) shares.AddRange([.. U16(X25519), .. Vector16(RandomBytes(random, 32))]);
        return shares;
    }

    /// <summary>Handshake records of sizes drawn between the spec's bounds.</summary>
    private static byte[] Records(Spec spec, byte[] message)
    {
        var random = new Random(spec.Seed + 1);
        var wire = new List<byte>();
        for (int offset = 0; offset < message.Length;)
        {
            int length = Math.Min(message.Length - offset, random.Next(spec.MinRecord, spec.MaxRecord + 1));
            wire.AddRange([0x16, .. U16(spec.RecordVersion), .. U16((ushort)length), .. message.AsSpan(offset, length)]);
            offset += length;
        }
        return [.. wire];
    }

    /// <summary>The bytes cut at random places into <see cref="Spec.Segments"/> sends.</summary>
    private static byte[][] Segments(Spec spec, byte[] wire)
    {
        var random = new Random(spec.Seed + 2);
        int[] cuts = [0, .. Enumerable.Range(0, spec.Segments - 1).Select(_ => random.Next(1, wire.Length)).Distinct().Order(), wire.Length];
        return [.. cuts.Zip(cuts.Skip(1), (from, to) => wire[from..to])];
    }

    /// <summary>One of the 16 GREASE values 0x0A0A, 0x1A1A, ... 0xFAFA.</summary>
    private static ushort Grease(Random random) => (ushort)(0x0A0A + 0x1010 * random.Next(16));

    private static byte[] U16(ushort value) => [(byte)(value >> 8), (byte)value];

    private static byte[] Vector16(IEnumerable<byte> content)
    {
        byte[] bytes = [.. content];
        return [.. U16((ushort)bytes.Length), .. bytes];
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}

/// <summary>A generated hello as the sends that carry it, and what each server is expected to answer.</summary>
internal sealed record GeneratedHello(byte[][] Segments, IReadOnlyDictionary<string, string> Expected)
{
    public string ExpectedFrom(string server) => Expected.TryGetValue(server, out string? outcome) ? outcome : GeneratedHellos.Proceeds;
}
