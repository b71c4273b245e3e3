using System.Net.Sockets;
using System.Text;

namespace Baton.Tests.Infrastructure;

/// <summary>
/// A test's own NOTIFY_SOCKET: a Unix datagram socket, abstract ('@name') or a path, collecting every sd_notify
/// message a process sends to it, as systemd's end would.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly List<string> _messages = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiving;
    private readonly string? _file;

    public NotifySocket(bool abstractName)
    {
        string name = $"baton-test-notify-{Guid.NewGuid():N}";
        if (abstractName)
        {
            Address = "@" + name;
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        }
        else
        {
            Address = _file = Path.Combine(Path.GetTempPath(), name);
            _socket.Bind(new UnixDomainSocketEndPoint(_file));
        }
        _receiving = ReceiveAsync();
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Address { get; }

    public IReadOnlyList<string> Messages
    {
        get { lock (_messages) return [.. _messages]; }
    }

    /// <summary>Waits for a message with the assignment <paramref name="assignment"/> (e.g. "READY=1") and returns it.</summary>
    public Task<string> WaitForAsync(string assignment, TimeSpan? timeout = null) =>
        Wait.ForAsync(() => Messages.FirstOrDefault(m => m.Split('\n').Contains(assignment)), $"NOTIFY_SOCKET receives {assignment}", timeout ?? ChildProcess.DefaultTimeout);

    private async Task ReceiveAsync()
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            int received;
            try
            {
                received = await _socket.ReceiveAsync(buffer, SocketFlags.None, _closing.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            lock (_messages) _messages.Add(Encoding.UTF8.GetString(buffer, 0, received));
        }
    }

    public void Dispose()
    {
        _closing.Cancel();
        _receiving.Wait(TimeSpan.FromSeconds(10));
        _socket.Dispose();
        _closing.Dispose();
        if (_file is not null) File.Delete(_file);
    }
}
