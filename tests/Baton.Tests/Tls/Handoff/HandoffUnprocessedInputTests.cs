using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Baton.Tests.Infrastructure;
using Baton.Tests.Tls.Records;
using Xunit;

namespace Baton.Tests.Tls.Handoff;

/// <summary>Records the front received but libssl did not process travel as ciphertext and are decrypted by the worker.</summary>
public sealed class HandoffUnprocessedInputTests
{
    [Theory]
    [InlineData(SslProtocols.Tls13)]
    [InlineData(SslProtocols.Tls12)]
    public async Task SecondRecordAlreadyReceivedIsHandedOverAsCiphertext(SslProtocols protocol)
    {
        using TlsServerContext context = HandoffTestServer.CreateContext(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        Socket socket = server.Socket;
        using var sslClient = new SslStream(client, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        var tls = new OpenSslStream(server, context, leaveInnerStreamOpen: true);
        HandoffCapture capture = HandoffCapture.Attach(tls);
        Task serverSide = tls.AuthenticateAsServerAsync();
        await sslClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = protocol })
            .WaitAsync(HandoffTestServer.Deadline);
        await serverSide.WaitAsync(HandoffTestServer.Deadline);

        byte[] first = "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        byte[] second = "GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        await sslClient.WriteAsync(first);
        await sslClient.WriteAsync(second);
        // Both records are in the socket before the front reads, so one receive puts both into the read BIO.
        int expected = 2 * (5 + first.Length + 16 + (protocol == SslProtocols.Tls13 ? 1 : 8));
        await Wait.UntilAsync(() => socket.Available >= expected, "both records arrived");

        byte[] plaintext = new byte[16 * 1024];
        int length = await tls.ReadAsync(plaintext).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal(first, plaintext[..length]);
        HandoffExport export = capture.Export();
        capture.Dispose();
        tls.Dispose();
        Assert.Equal(expected / 2, export.UnprocessedCiphertext.Length);

        await using var worker = new TlsRecordStream(new NetworkStream(socket, ownsSocket: true), export.State,
            plaintext.AsMemory(0, length), export.UnprocessedCiphertext);
        byte[] received = new byte[first.Length + second.Length];
        await worker.ReadExactlyAsync(received).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal([.. first, .. second], received);
        await worker.WriteAsync("answered by the worker"u8.ToArray());
        byte[] answer = new byte[64];
        int read = await sslClient.ReadAsync(answer).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal("answered by the worker", Encoding.ASCII.GetString(answer, 0, read));
    }

    [Theory]
    [InlineData(SslProtocols.Tls13)]
    [InlineData(SslProtocols.Tls12)]
    public async Task WhenNoWorkerTookTheSessionTheFrontPutsBackWhatTheExportTookAndReadsOn(SslProtocols protocol)
    {
        using TlsServerContext context = HandoffTestServer.CreateContext(TestCertificates.Localhost);
        var (server, client) = await RecordTestSupport.ConnectAsync();
        Socket socket = server.Socket;
        using var sslClient = new SslStream(client, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var tls = new OpenSslStream(server, context, leaveInnerStreamOpen: true);
        using HandoffCapture capture = HandoffCapture.Attach(tls);
        Task serverSide = tls.AuthenticateAsServerAsync();
        await sslClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = protocol })
            .WaitAsync(HandoffTestServer.Deadline);
        await serverSide.WaitAsync(HandoffTestServer.Deadline);
        byte[] first = "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        byte[] second = "GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        await sslClient.WriteAsync(first);
        await sslClient.WriteAsync(second);
        int expected = 2 * (5 + first.Length + 16 + (protocol == SslProtocols.Tls13 ? 1 : 8));
        await Wait.UntilAsync(() => socket.Available >= expected, "both records arrived");
        byte[] plaintext = new byte[16 * 1024];
        Assert.Equal(first.Length, await tls.ReadAsync(plaintext).AsTask().WaitAsync(HandoffTestServer.Deadline));
        using HandoffExport export = capture.Export();
        Assert.NotEmpty(export.UnprocessedCiphertext);

        tls.RestoreUnprocessedInput(export.UnprocessedCiphertext);

        // libssl decrypts the second record where it left off, and still writes under its own sequence numbers.
        int length = await tls.ReadAsync(plaintext).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal(second, plaintext[..length]);
        Assert.Throws<InvalidOperationException>(() =>
        {
            tls.RestoreUnprocessedInput([1]);
            tls.RestoreUnprocessedInput([2]);
        });
        await tls.WriteAsync("answered by the front"u8.ToArray());
        byte[] answer = new byte[64];
        int read = await sslClient.ReadAsync(answer).AsTask().WaitAsync(HandoffTestServer.Deadline);
        Assert.Equal("answered by the front", Encoding.ASCII.GetString(answer, 0, read));
    }
}
