using System.Net.Sockets;
using Baton.Tests.Infrastructure;

namespace Baton.Tests.Proxy;

/// <summary>
/// A plain nginx serving a directory over HTTP on a Unix socket (no port to race for), in the foreground as one
/// process (no master whose workers would outlive a kill), its logs and temporary files in its own directory.
/// </summary>
internal sealed class NginxBackend : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly string _prefix;

    private NginxBackend(ChildProcess process, string prefix, string socketPath)
    {
        _process = process;
        _prefix = prefix;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<NginxBackend> StartAsync(string root)
    {
        string prefix = Directory.CreateTempSubdirectory("baton-nginx-").FullName;
        string socketPath = Path.Combine(prefix, "nginx.sock");
        // Root reads the test's 0700 directory; as another user nginx ignores the directive (with a warning).
        File.WriteAllText(Path.Combine(prefix, "nginx.conf"), $$"""
            user root;
            daemon off;
            master_process off;
            pid {{prefix}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{prefix}}/body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
                server {
                    listen unix:{{socketPath}};
                    root {{root}};
                }
            }
            """);
        string nginx = File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
        ChildProcess process = ChildProcess.Start(nginx, ["-e", "stderr", "-p", prefix, "-c", Path.Combine(prefix, "nginx.conf")]);
        var backend = new NginxBackend(process, prefix, socketPath);
        try
        {
            await Wait.UntilAsync(() => process.HasExited || Accepts(socketPath), "nginx listening on its socket");
            if (process.HasExited)
                throw new InvalidOperationException($"nginx exited at start: {process.Output}");
            return backend;
        }
        catch
        {
            await backend.DisposeAsync();
            throw;
        }
    }

    private static bool Accepts(string socketPath)
    {
        if (!File.Exists(socketPath)) return false;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.DisposeAsync();
        Directory.Delete(_prefix, recursive: true);
    }
}
