using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Baton.Tls.Session;

namespace Baton.Tls.Records;

/// <summary>
/// Kernel TLS (Linux <c>CONFIG_TLS</c>) for a handed-off session: installs the session's keys and sequence numbers
/// with TCP_ULP "tls" + TLS_RX + TLS_TX so that the kernel seals and opens the records: a <see cref="TlsRecordStream"/>
/// over a <see cref="KernelRecordBackend"/>. The user-space backend stays the default: <see cref="TryEnable"/> returns
/// null, with the reason, whenever the kernel cannot carry the session exactly.
/// </summary>
/// <remarks>
/// Fallback rules, checked before anything is installed:
/// <list type="bullet">
/// <item>Records the front read but did not decrypt (initial ciphertext): the kernel can only be given keys and a
/// sequence number, not bytes that already left the socket.</item>
/// <item>max_fragment_length was negotiated: the kernel always fills records up to 2^14 bytes.</item>
/// <item>TLS 1.3 on a kernel older than 6.14: older kernels cannot take a new key (TLS_RX/TLS_TX answer EBUSY), and
/// they keep decrypting after a KeyUpdate with the old key, so the client's first KeyUpdate (OpenSSL sends them on
/// its own after enough data) would end the connection. The version comes from /proc/sys/kernel/osrelease; a
/// distribution kernel with the rekey patches backported still falls back — losing only speed.</item>
/// <item>No kernel TLS (no <c>tls</c> in /proc/sys/net/ipv4/tcp_available_ulp), or setsockopt(TCP_ULP) or TLS_RX
/// fails: the "tls" ULP without keys passes bytes through unchanged, so the user-space layer still works.</item>
/// </list>
/// Order: TLS_RX before TLS_TX. The second call can only fail for a reason that does not depend on the cipher (the
/// first call already accepted it: ENOMEM and the like), and TLS_RX is the direction old kernels lack for some
/// ciphers, so trying it first makes the likely failure happen while nothing is installed. If TLS_TX then fails,
/// the kernel already decrypts incoming records and neither layer can carry the connection: TryEnable throws an
/// IOException and the connection must be closed.
/// </remarks>
internal static class KernelTls
{
    internal const string UlpListPath = "/proc/sys/net/ipv4/tcp_available_ulp";
    internal const string OsReleasePath = "/proc/sys/kernel/osrelease";

    /// <summary>The first Linux release whose kernel TLS accepts new TLS 1.3 keys (KeyUpdate).</summary>
    internal static readonly Version Tls13RekeyKernel = new(6, 14);

    private static readonly Lazy<string?> s_unavailableReason = new(ProbeUnavailableReason);
    private static readonly Lazy<Version?> s_kernelVersion = new(ReadKernelVersion);

    /// <summary>True when the running kernel offers the "tls" ULP. Read once; false on any error.</summary>
    public static bool IsAvailable => s_unavailableReason.Value is null;

    /// <summary>Why kernel TLS is not available (for logs and skipped tests); null when it is.</summary>
    public static string? UnavailableReason => s_unavailableReason.Value;

    /// <summary>The running kernel's version (major.minor[.patch]), or null when it cannot be read.</summary>
    public static Version? KernelVersion => s_kernelVersion.Value;

    /// <summary>
    /// Moves the session's record layer into the kernel. Returns the plaintext stream (which owns the socket and the
    /// state from then on), or null with <paramref name="reason"/> when the caller must use the user-space
    /// <see cref="TlsRecordStream"/> instead; the socket and the state are then untouched (apart from a key-less "tls" ULP, which is transparent).
    /// Throws IOException when the receive direction was installed but the transmit direction was refused.
    /// </summary>
    /// <param name="initialPlaintext">Application data the front already decrypted; returned first. Not copied.</param>
    /// <param name="initialCiphertext">Bytes the front read but did not decrypt: when not empty, this falls back.</param>
    public static TlsStream? TryEnable(
        Socket socket, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext, ReadOnlyMemory<byte> initialCiphertext,
        out string? reason)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return TryEnable(socket.SafeHandle, () => socket, state, initialPlaintext, initialCiphertext, out reason);
    }

    /// <summary>As above over a raw descriptor: <paramref name="backendSocket"/> builds the socket only once the keys are in.</summary>
    public static TlsStream? TryEnable(
        SafeHandle handle, Func<Socket> backendSocket, TlsSessionState state, ReadOnlyMemory<byte> initialPlaintext,
        ReadOnlyMemory<byte> initialCiphertext, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(state);
        reason = CheckSession(state, initialCiphertext) ?? UnavailableReason ?? CheckKernel(state, KernelVersion);
        if (reason is not null) return null;
        int errno = Interop.Libc.SetSocketOption(handle, Interop.Libc.SOL_TCP, Interop.Libc.TCP_ULP, "tls\0"u8);
        if (errno != 0)
        {
            reason = $"setsockopt(TCP_ULP, \"tls\") failed: {Describe(errno)}";
            return null;
        }
        errno = InstallKeys(handle, Interop.Libc.TLS_RX, state.Suite, state.ReadKey, state.ReadIv, state.ReadSequence);
        if (errno != 0)
        {
            reason = $"setsockopt(TLS_RX) failed: {Describe(errno)}";
            return null;
        }
        errno = InstallKeys(handle, Interop.Libc.TLS_TX, state.Suite, state.WriteKey, state.WriteIv, state.WriteSequence);
        if (errno != 0)
            throw new IOException($"kernel TLS took the read key but refused the write key: {Describe(errno)}; the connection cannot continue");
        return new TlsRecordStream(new KernelRecordBackend(backendSocket(), state), state, initialPlaintext);
    }

    /// <summary>The session-only fallback rules (no kernel needed); null when the session can go to the kernel.</summary>
    internal static string? CheckSession(TlsSessionState state, ReadOnlyMemory<byte> initialCiphertext)
    {
        if (!initialCiphertext.IsEmpty)
            return $"the front passed {initialCiphertext.Length} bytes of records it had not decrypted; only the user-space record layer can consume them";
        if (KernelTlsCryptoInfo.CipherType(state.Suite.Aead) == 0)
            return $"kernel TLS has no cipher for suite 0x{state.CipherSuite:X4}";
        if (state.MaxPlaintext != TlsRecordLimits.MaxPlaintext)
            return $"max_fragment_length limits records to {state.MaxPlaintext} bytes; kernel TLS always fills records up to 16384";
        return null;
    }

    /// <summary>The kernel-version rule: TLS 1.3 needs rekey support (Linux 6.14); null when the session can go.</summary>
    internal static string? CheckKernel(TlsSessionState state, Version? kernel)
    {
        if (!state.Suite.IsTls13 || (kernel is not null && kernel >= Tls13RekeyKernel)) return null;
        return $"TLS 1.3 needs kernel TLS rekey support (Linux {Tls13RekeyKernel} or later) to follow KeyUpdates; this kernel is {kernel?.ToString() ?? "of unknown version"}";
    }

    /// <summary>True when a tcp_available_ulp listing names "tls".</summary>
    internal static bool ListsTls(string availableUlps) =>
        availableUlps.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains("tls", StringComparer.Ordinal);

    /// <summary>"6.18.44-fc-v782" → 6.18.44; null when the release does not start with major.minor.</summary>
    internal static Version? ParseKernelRelease(string release)
    {
        string numeric = new(release.Trim().TakeWhile(c => char.IsAsciiDigit(c) || c == '.').ToArray());
        string[] parts = numeric.Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2) return null;
        if (!int.TryParse(parts[0], out int major) || !int.TryParse(parts[1], out int minor)) return null;
        return parts.Length > 2 && int.TryParse(parts[2], out int patch) ? new Version(major, minor, patch) : new Version(major, minor);
    }

    /// <summary>TLS_RX or TLS_TX with a crypto_info built on the stack and wiped after the call; returns 0 or errno.</summary>
    internal static int InstallKeys(SafeHandle socket, int direction, in TlsCipherSuiteInfo suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ulong sequence)
    {
        Span<byte> info = stackalloc byte[KernelTlsCryptoInfo.MaxSize];
        try
        {
            int length = KernelTlsCryptoInfo.Write(suite, key, iv, sequence, info);
            return Interop.Libc.SetSocketOption(socket, Interop.Libc.SOL_TLS, direction, info[..length]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(info);
        }
    }

    internal static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    private static string? ProbeUnavailableReason()
    {
        try
        {
            string ulps = File.ReadAllText(UlpListPath).Trim();
            return ListsTls(ulps)
                ? null
                : $"kernel TLS is not available: {UlpListPath} lists \"{ulps}\" without \"tls\" (CONFIG_TLS not built or the tls module not loaded)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return $"kernel TLS is not available: cannot read {UlpListPath} ({e.Message})";
        }
    }

    private static Version? ReadKernelVersion()
    {
        try
        {
            return ParseKernelRelease(File.ReadAllText(OsReleasePath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return OperatingSystem.IsLinux() ? Environment.OSVersion.Version : null;
        }
    }
}
