namespace Baton.Configuration;

/// <summary>What the front waits for after the handshake before it hands a terminated connection on.</summary>
internal enum FirstRequest
{
    /// <summary>Reads and checks the first HTTP/1.1 request head (HTTP/2 excepted): the default of handoff pools.</summary>
    Http,

    /// <summary>
    /// Nothing: the connection goes on right after the handshake, so protocols where the server speaks first (SMTP,
    /// IMAP greetings) and any other protocol over TLS work. The default of proxy pools.
    /// </summary>
    None,
}
