using System.Diagnostics;
using System.Net;
using Baton.Inspection;

namespace Baton.Front;

/// <summary>
/// What the front learnt about one connection on its way through it, for the access log line written when it ends.
/// Made only when the access log is on. Holds no secrets: no keys, no header values besides Host, no query string.
/// </summary>
internal sealed class ConnectionRecord
{
    public ConnectionRecord(ulong id, string listener, IPEndPoint? client)
    {
        Id = id;
        Listener = listener;
        Client = client;
        AcceptedAt = DateTimeOffset.UtcNow;
        AcceptedTimestamp = Stopwatch.GetTimestamp();
    }

    public ulong Id { get; }
    public string Listener { get; }
    public DateTimeOffset AcceptedAt { get; }
    public long AcceptedTimestamp { get; }
    public IPEndPoint? Client { get; private set; }
    public string? ServerName { get; private set; }
    public string? Alpn { get; private set; }
    public string? TlsVersion { get; private set; }
    public string? TlsCipher { get; private set; }
    public HttpRequestHead? Request { get; private set; }
    public int RequestBytes { get; private set; }
    public string? Pool { get; private set; }
    public int? WorkerPid { get; private set; }
    public TimeSpan? Dispatch { get; private set; }

    /// <summary>"handed_off", "failed" or "shutdown" (the front stopped while holding it).</summary>
    public string Result { get; private set; } = "failed";

    /// <summary>The failure's reason code (RejectReason); null when handed off.</summary>
    public string? Reason { get; private set; }

    public void Inspected(IPEndPoint? client, ClientHelloInfo? hello)
    {
        Client = client ?? Client;
        ServerName = hello?.ServerName;
        // Passthrough: the worker negotiates, so what the client offered is all the front knows.
        if (hello is { ApplicationProtocols.Count: > 0 })
            Alpn = string.Join(',', hello.ApplicationProtocols);
    }

    public void Handshaken(TerminatedConnection terminated)
    {
        ServerName = terminated.ServerName ?? terminated.RoutingName;
        Alpn = terminated.ApplicationProtocol;
        TlsVersion = terminated.Tls.ProtocolName;
        TlsCipher = terminated.Tls.CipherSuiteName;
    }

    public void RequestRead(TerminatedConnection terminated)
    {
        Request = terminated.Head;
        RequestBytes = terminated.AlreadyRead.Length;
    }

    public void Routed(string pool) => Pool = pool;

    public void HandedOff(int? workerPid, TimeSpan dispatch)
    {
        Result = "handed_off";
        WorkerPid = workerPid;
        Dispatch = dispatch;
    }

    public void Failed(string reason) => Reason = reason;

    public void ShutDown() => Result = "shutdown";
}
