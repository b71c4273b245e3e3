internal static partial class Interop
{
    /// <summary>Names of the native libraries Baton binds to. OpenSSL is pinned to the 3.x ABI.</summary>
    internal static class Libraries
    {
        internal const string Libc = "libc";
        internal const string Ssl = "libssl.so.3";
        internal const string Crypto = "libcrypto.so.3";
    }
}
