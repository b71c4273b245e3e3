using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Baton.Diagnostics;

namespace Baton.Hosting.Control;

/// <summary>One control command: gets the whole request, returns the reply's result or throws <see cref="ControlException"/>.</summary>
internal delegate Task<JsonNode?> ControlCommand(JsonObject request, CancellationToken cancellationToken);

/// <summary>
/// The front's control socket: a Unix stream socket, mode 0600, whose peers are checked with SO_PEERCRED (the front's
/// own uid or root). Each connection carries one request (<see cref="ControlProtocol"/>), bounded in size and time, and
/// gets one reply; whatever a peer sends costs only its own connection. A command is one entry of the table it is given.
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    /// <summary>Requests served at once; past it a peer is told the front is busy.</summary>
    private const int MaxConcurrentRequests = 8;

    private readonly Socket _listener;
    private readonly IReadOnlyDictionary<string, ControlCommand> _commands;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _concurrency = new(MaxConcurrentRequests, MaxConcurrentRequests);
    private readonly uint _uid = Interop.Libc.GetEUid();
    private readonly Task _acceptLoop;

    private ControlServer(string path, Socket listener, IReadOnlyDictionary<string, ControlCommand> commands, ILogger logger)
    {
        Path = path;
        _listener = listener;
        _commands = commands;
        _logger = logger;
        _acceptLoop = AcceptLoopAsync();
    }

    public string Path { get; }

    /// <summary>
    /// Listens on <paramref name="path"/>, replacing a socket nobody listens on (a front that died) but never one a live
    /// front answers on, except the one <paramref name="takeOverFrom"/> (the front whose binary upgrade started this one)
    /// answers on: that is replaced in one rename, so a client finds one front or the other, never neither. Throws
    /// <see cref="ControlException"/> saying why it cannot.
    /// </summary>
    public static ControlServer Listen(string path, IReadOnlyDictionary<string, ControlCommand> commands, ILogger logger, int? takeOverFrom = null)
    {
        // Baton is Linux-only (SCM_RIGHTS, epoll); this says so to the platform analyzer.
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException();
        string directory = System.IO.Path.GetDirectoryName(path)!;
        try
        {
            // Only the front's user may even look inside a directory the front makes.
            if (!Directory.Exists(directory))
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            bool takingOver = RemoveStale(path, takeOverFrom);
            // Bound under a name of its own and renamed into place: .NET deletes the file a socket was bound to when it
            // is disposed, and after an upgrade the file at the path is the next front's, which must survive this one.
            string bindPath = $"{path}.{Environment.ProcessId}";
            File.Delete(bindPath);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(bindPath));
                // Before listen(): nobody can connect until the mode is the front's user's only.
                File.SetUnixFileMode(bindPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                listener.Listen(16);
                File.Move(bindPath, path, overwrite: takingOver);
            }
            catch
            {
                listener.Dispose();
                File.Delete(bindPath);
                throw;
            }
            return new ControlServer(path, listener, commands, logger);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SocketException)
        {
            throw new ControlException($"cannot listen on {path}: {ex.Message}");
        }
    }

    /// <summary>
    /// A socket file nobody accepts on is a dead front's and is removed; a live front's is refused, unless it is
    /// <paramref name="takeOverFrom"/>'s (true: replace it), and so is anything that is not a socket.
    /// </summary>
    private static bool RemoveStale(string path, int? takeOverFrom)
    {
        if (!File.Exists(path))
            return false;
        if (new FileInfo(path).Length > 0)
            throw new ControlException($"{path} exists and is not a socket; remove it or set Baton:Control:Socket");
        if (IsAnswered(path, out int pid))
        {
            if (pid == takeOverFrom)
                return true;
            throw new ControlException($"{path} belongs to a running front (pid {pid}); stop it or give this front another Baton:Control:Socket");
        }
        File.Delete(path);
        return false;
    }

    /// <summary>True when something accepts connections on <paramref name="path"/>; <paramref name="pid"/> is its process.</summary>
    internal static bool IsAnswered(string path, out int pid)
    {
        pid = 0;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            pid = Interop.Libc.GetPeerCredentials(probe.SafeHandle).Pid;
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket peer;
            try
            {
                peer = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // EMFILE and the like: the front's connections matter more; try again shortly.
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            _ = ServeAsync(peer);
        }
    }

    private async Task ServeAsync(Socket peer)
    {
        try
        {
            await ServeOneAsync(peer).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A peer gone before its credentials could be read, or a bug: this request only, never the front.
            _logger.ControlRequestRefused(0, ex.Message);
        }
        finally
        {
            peer.Dispose();
        }
    }

    private async Task ServeOneAsync(Socket peer)
    {
        Interop.Libc.UCred credentials = Interop.Libc.GetPeerCredentials(peer.SafeHandle);
        byte[] reply;
        if (credentials.Uid != _uid && credentials.Uid != 0)
        {
            _logger.ControlPeerRefused(credentials.Pid, credentials.Uid, _uid);
            reply = ControlProtocol.Failure($"permission denied: uid {credentials.Uid} is neither the front's user ({_uid}) nor root");
        }
        else if (!_concurrency.Wait(0))
        {
            reply = ControlProtocol.Failure($"busy: {MaxConcurrentRequests} control requests are being served; try again");
        }
        else
        {
            try
            {
                reply = await AnswerAsync(peer, credentials.Pid).ConfigureAwait(false);
            }
            finally
            {
                _concurrency.Release();
            }
        }
        await SendAsync(peer, reply).ConfigureAwait(false);
    }

    private async Task<byte[]> AnswerAsync(Socket peer, int pid)
    {
        string line;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
        {
            deadline.CancelAfter(ControlProtocol.RequestTimeout);
            try
            {
                line = await ControlProtocol.ReadLineAsync(peer, ControlProtocol.MaxRequestBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Refuse(pid, _stopping.IsCancellationRequested ? "the front is stopping" : $"no complete request within {ControlProtocol.RequestTimeout.TotalSeconds:0} s");
            }
            catch (Exception ex) when (ex is ControlException or SocketException)
            {
                return Refuse(pid, ex.Message);
            }
        }
        try
        {
            (string name, JsonObject request) = ControlProtocol.ParseRequest(line);
            if (!_commands.TryGetValue(name, out ControlCommand? command))
                throw new ControlException($"unknown command '{name}'; this front knows {string.Join(", ", _commands.Keys.Order(StringComparer.Ordinal))}");
            return ControlProtocol.Success(await command(request, _stopping.Token).ConfigureAwait(false));
        }
        catch (ControlReplyException ex)
        {
            return ControlProtocol.Failure(ex.Message, ex.Problems);
        }
        catch (ControlException ex)
        {
            return Refuse(pid, ex.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return ControlProtocol.Failure("the front is stopping");
        }
        catch (Exception ex)
        {
            // A bug in a command costs this request, never the front.
            return ControlProtocol.Failure($"internal error: {ex}");
        }
    }

    private byte[] Refuse(int pid, string reason)
    {
        _logger.ControlRequestRefused(pid, reason);
        return ControlProtocol.Failure(reason);
    }

    /// <summary>The reply is bounded in time too: a peer that does not read it does not keep the connection.</summary>
    private static async Task SendAsync(Socket peer, byte[] reply)
    {
        using var deadline = new CancellationTokenSource(ControlProtocol.RequestTimeout);
        try
        {
            await peer.SendAsync(reply, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            peer.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // The peer left: nobody to tell.
        }
    }

    /// <summary>Stops accepting and removes the socket file, unless another front has bound the path since.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        try
        {
            if (!IsAnswered(Path, out _))
                File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SocketException)
        {
            // Left behind, it is replaced as stale by the next front.
        }
        _stopping.Dispose();
    }
}
