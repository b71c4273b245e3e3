using System.Security.Cryptography;
using System.Text;
using Baton.Tests.Infrastructure;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

public class TlsKeyScheduleTests
{
    // RFC 8448 §3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256): application traffic secrets and their keys.
    internal static readonly byte[] ClientAppSecret = Hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
    internal static readonly byte[] ServerAppSecret = Hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");

    [Fact]
    public void Tls13KeysMatchRfc8448()
    {
        using TlsSessionState state = TlsSessionState.FromTls13(0x1301, ClientAppSecret, ServerAppSecret, 0, 0);
        Assert.Equal(Hex("17422dda596ed5d9acd890e3c63f5051"), state.ReadKey);
        Assert.Equal(Hex("5b78923dee08579033e523d9"), state.ReadIv);
        Assert.Equal(Hex("9f02283b6c9c07efc26bb9f2ac92e356"), state.WriteKey);
        Assert.Equal(Hex("cf782b88dd83549aadf1e984"), state.WriteIv);
        Assert.Equal(ClientAppSecret, state.ReadSecret);
    }

    [Fact]
    public void ExpandLabelBuildsTheRfc8448HkdfLabel()
    {
        // RFC 8448 shows "key info (13 octets): 00 10 09 74 6c 73 31 33 20 6b 65 79 00": check against plain HKDF with that info.
        byte[] expected = new byte[16];
        HKDF.Expand(HashAlgorithmName.SHA256, ServerAppSecret, expected, Hex("00100974 6c733133 206b6579 00"));
        byte[] actual = new byte[16];
        TlsKeySchedule.ExpandLabel(HashAlgorithmName.SHA256, ServerAppSecret, "key", actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task TrafficUpdateMatchesOpenSslHkdf()
    {
        // "traffic upd" label for SHA-384: 00 30 | 12 "tls13 traffic upd" | 00
        byte[] secret = RandomNumberGenerator.GetBytes(48);
        byte[] info = [0x00, 0x30, 17, .. Encoding.ASCII.GetBytes("tls13 traffic upd"), 0x00];
        string expected = await OpenSslKdfAsync("HKDF", 48, "SHA384",
            ["mode:EXPAND_ONLY", $"hexkey:{Convert.ToHexString(secret)}", $"hexinfo:{Convert.ToHexString(info)}"]);
        TlsKeySchedule.UpdateTrafficSecret(TlsCipherSuiteInfo.Get(0x1302), secret);
        Assert.Equal(expected, Convert.ToHexString(secret));
    }

    [Fact]
    public void Tls12PrfMatchesThePublishedSha256Vector()
    {
        // The TLS 1.2 PRF (SHA-256) vector posted to the IETF TLS list: secret, "test label", seed, 100 bytes.
        byte[] output = new byte[100];
        TlsKeySchedule.Tls12Prf(HashAlgorithmName.SHA256, Hex("9bbe436ba940f017b17652849a71db35"), "test label"u8,
            Hex("a0ba9f936cda311827a6f796ffd5198c"), output);
        Assert.Equal(Hex(
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab" +
            "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"), output);
    }

    [Theory]
    [InlineData(0xC02B)]
    [InlineData(0xC030)]
    [InlineData(0xCCA9)]
    public async Task Tls12KeyBlockMatchesOpenSslTls1Prf(ushort suite)
    {
        byte[] master = RandomNumberGenerator.GetBytes(48), clientRandom = RandomNumberGenerator.GetBytes(32), serverRandom = RandomNumberGenerator.GetBytes(32);
        TlsCipherSuiteInfo info = TlsCipherSuiteInfo.Get(suite);
        int length = 2 * info.KeyLength + 2 * info.IvLength;
        string keyBlock = await OpenSslKdfAsync("TLS1-PRF", length, info.Hash.Name!,
            [$"hexsecret:{Convert.ToHexString(master)}", "seed:key expansion", $"hexseed:{Convert.ToHexString(serverRandom)}{Convert.ToHexString(clientRandom)}"]);

        using TlsSessionState state = TlsSessionState.FromTls12(suite, master, clientRandom, serverRandom, 0, 0);
        // key_block = client_write_key ‖ server_write_key ‖ client_write_IV ‖ server_write_IV; the server reads with the client's.
        Assert.Equal(keyBlock, Convert.ToHexString([.. state.ReadKey, .. state.WriteKey, .. state.ReadIv, .. state.WriteIv]));
        Assert.Equal(info.IvLength, state.ReadIv.Length);
        Assert.Empty(state.ReadSecret);
    }

    /// <summary>Runs `openssl kdf`, each of <paramref name="options"/> passed as a -kdfopt, and returns the derived bytes as upper-case hex.</summary>
    private static async Task<string> OpenSslKdfAsync(string kdf, int length, string digest, string[] options)
    {
        ProcessResult result = await ChildProcess.RunAsync("openssl",
            ["kdf", "-keylen", length.ToString(), "-kdfopt", $"digest:{digest}", .. options.SelectMany(o => (string[])["-kdfopt", o]), kdf]);
        Assert.True(result.ExitCode == 0, result.StandardError);
        return result.StandardOutput.Trim().Replace(":", "");
    }
}
