using Baton.Configuration;
using Baton.Front;
using Baton.Supervisor;
using Baton.Tls;

namespace Baton.Hosting;

/// <summary>
/// What a connection is accepted with: the configuration, certificates, routes, limits and TLS context of one load
/// (the start is generation 1, each reload the next). Immutable; counted: the front holds one reference while it is
/// current and each connection one while it is in the front, and the last one out disposes its handler and TLS context, so a reload never changes what an in-flight connection started with.
/// </summary>
internal sealed class FrontGeneration
{
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _references = 1;
    private readonly Dictionary<string, ListenerOptions> _listeners;

    public FrontGeneration(
        int number, BatonOptions options, CertificateStore certificates, TicketKeyRing ticketKeys,
        IReadOnlyDictionary<string, WorkerPool> pools, FrontConnectionHandler handler)
    {
        Number = number;
        Options = options;
        Certificates = certificates;
        TicketKeys = ticketKeys;
        Pools = pools;
        Handler = handler;
        // Looked up on every accept.
        _listeners = options.Listeners.ToDictionary(ListenerKey, StringComparer.Ordinal);
    }

    public int Number { get; }
    public BatonOptions Options { get; }
    public CertificateStore Certificates { get; }

    /// <summary>The handoff front's ticket keys: a rotating ring is handed to the next generation, so tickets survive a reload.</summary>
    public TicketKeyRing TicketKeys { get; }

    public IReadOnlyDictionary<string, WorkerPool> Pools { get; }
    public FrontConnectionHandler Handler { get; }

    /// <summary>Completes once the generation is no longer current and its last connection has left the front.</summary>
    public Task Drained => _drained.Task;

    /// <summary>The configured listener for <paramref name="key"/> (<see cref="ListenerKey"/>), null when this generation has none there.</summary>
    public ListenerOptions? Listener(string key) => _listeners.GetValueOrDefault(key);

    /// <summary>
    /// What identifies a listening socket across reloads: its configured address and whether it shares its port; for
    /// port 0 (any free port, each listener its own) the listener's name too.
    /// </summary>
    public static string ListenerKey(ListenerOptions listener)
    {
        var address = System.Net.IPEndPoint.Parse(listener.Address);
        return $"{address}{(address.Port == 0 ? $" ({listener.Name})" : "")}{(listener.ReusePort ? " reuseport" : "")}";
    }

    /// <summary>Takes a reference for one connection; false once the generation is retired and drained.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            int references = Volatile.Read(ref _references);
            if (references == 0)
                return false;
            if (Interlocked.CompareExchange(ref _references, references + 1, references) == references)
                return true;
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            // The certificates may go on in the next generation: whoever replaced them disposes them after Drained.
            Handler.Dispose();
            _drained.TrySetResult();
        }
    }

    /// <summary>No longer current: gives up the front's reference (the connections' keep it alive).</summary>
    public void Retire() => Exit();
}
