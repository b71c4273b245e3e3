using System.Net.Sockets;
using Baton.Tests.Infrastructure;
using static Baton.Tests.Tls.Records.RecordTestSupport;

namespace Baton.Tests.Tls.Records;

/// <summary>
/// The two record backends as test rows: a server <see cref="TlsRecordStream"/> over a real loopback socket, in user
/// space (over <see cref="HandedOffSocket"/>, as the worker builds it) or in the kernel (through
/// <see cref="KernelTls.TryEnable"/>; skipped with the reason where the kernel cannot carry the session), and a
/// <see cref="RawTlsPeer"/> as the client.
/// </summary>
internal static class RecordBackends
{
    public const string UserSpace = "user space";
    public const string Kernel = "kernel";

    public static readonly string[] All = [UserSpace, Kernel];

    /// <summary>Every backend with every row: (backend, row...).</summary>
    public static IEnumerable<object[]> Cross(params object[][] rows) =>
        All.SelectMany(backend => rows.Select(row => new object[] { backend }.Concat(row).ToArray()));

    public static async Task<BackendSession> StartAsync(string backend, TlsSessionState state)
    {
        if (backend == Kernel)
        {
            Skip.IfNot(KernelTls.IsAvailable, KernelTls.UnavailableReason);
            string? tooOld = KernelTls.CheckKernel(state, KernelTls.KernelVersion);
            Skip.If(tooOld is not null, tooOld);
        }
        var (server, client) = await ConnectSocketsAsync();
        var peer = new RawTlsPeer(new NetworkStream(client, ownsSocket: true), state); // before the stream takes the state
        string? reason = null;
        TlsStream? stream = backend == Kernel
            ? KernelTls.TryEnable(server, state, default, default, out reason)
            : new TlsRecordStream(HandedOffSockets.TakeOver(server), state);
        Assert.True(stream is not null, reason);
        return new BackendSession((TlsRecordStream)stream, state, peer);
    }

    public static Task<BackendSession> StartAsync(string backend, ushort suite) => StartAsync(backend, NewServerState(suite));
}

internal sealed record BackendSession(TlsRecordStream Server, TlsSessionState State, RawTlsPeer Peer) : IAsyncDisposable
{
    public async Task<TlsAlertException> ExpectFailureAsync(TlsAlertDescription expected)
    {
        var e = await Assert.ThrowsAsync<TlsAlertException>(() => Server.ReadAsync(new byte[100]).AsTask().WaitAsync(Deadline));
        Assert.False(e.SentByPeer);
        Assert.Equal(expected, e.Description);
        return e;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Peer.DisposeAsync();
    }
}
