namespace Baton.Tls;

/// <summary>Checks once per process that libssl/libcrypto 3.x can be loaded.</summary>
public static class OpenSslLibrary
{
    /// <summary>Returns null when OpenSSL 3 is usable, otherwise one line saying what is missing.</summary>
    public static string? Probe()
    {
        try
        {
            nuint version = Interop.Crypto.OpenSslVersionNumber();
            if ((version >> 28) != 3) return $"baton needs OpenSSL 3.x (libssl.so.3/libcrypto.so.3); found version 0x{version:x}";
        }
        catch (DllNotFoundException)
        {
            return "baton needs OpenSSL 3.x: libcrypto.so.3/libssl.so.3 not found (Debian/Ubuntu: apt-get install libssl3)";
        }
        try
        {
            return Interop.Ssl.TlsServerMethod() != 0 ? null : "baton needs OpenSSL 3.x: libssl.so.3 did not initialize";
        }
        catch (DllNotFoundException)
        {
            return "baton needs OpenSSL 3.x: libssl.so.3 not found (Debian/Ubuntu: apt-get install libssl3)";
        }
    }
}
