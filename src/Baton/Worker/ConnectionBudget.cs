using Baton.IO;

namespace Baton.Worker;

/// <summary>
/// How many connections a worker may hold at once: what its descriptor limit leaves once the runtime's reserve is kept
/// free (one descriptor per connection), at most an explicit cap. Measured at start and again whenever the worker
/// looks for room after refusing, so descriptors the application opened meanwhile are counted too.
/// </summary>
internal sealed class ConnectionBudget
{
    private readonly Lock _gate = new();
    private readonly int _cap;
    private DescriptorLimit _limit;
    private int _open;
    private int _allowed;
    private int _held;

    private ConnectionBudget(int cap) => _cap = cap;

    /// <summary>Measures at start; throws when the descriptor limit leaves no room for a single connection.</summary>
    public static ConnectionBudget Measure(int cap)
    {
        var budget = new ConnectionBudget(cap);
        if (!budget.HasRoom())
            throw new InvalidOperationException(
                $"the descriptor limit {budget._limit} leaves no room for connections: {budget._open} descriptors are open and " +
                $"{DescriptorLimit.RuntimeReserve} are kept free for the runtime; raise it (ulimit -n, systemd LimitNOFILE=)");
        return budget;
    }

    /// <summary>Counts one more connection; false when it would hold more than allowed.</summary>
    public bool TryTake()
    {
        lock (_gate)
        {
            if (_held >= _allowed)
                return false;
            _held++;
            return true;
        }
    }

    public void Release()
    {
        lock (_gate)
            _held--;
    }

    /// <summary>
    /// Measures again and says whether one more connection fits: the connections allowed are what the limit leaves beside
    /// the reserve and everything open that is not a held connection. False too when the descriptors cannot even be
    /// listed (the table is full).
    /// </summary>
    public bool HasRoom()
    {
        lock (_gate)
        {
            _limit = DescriptorLimit.Current;
            try
            {
                _open = DescriptorLimit.CountOpen();
            }
            catch (IOException)
            {
                // Not even /proc/self/fd could be opened: every descriptor the limit allows is taken.
                _open = _limit.Soft;
                return false;
            }
            _allowed = Math.Min(_cap, _limit.Room(_open - _held, DescriptorLimit.RuntimeReserve));
            return _held < _allowed;
        }
    }

    public override string ToString()
    {
        lock (_gate)
            return $"{_held} connections held, room for {_allowed}: {_open} descriptors open, limit {_limit}, {DescriptorLimit.RuntimeReserve} kept free";
    }
}
