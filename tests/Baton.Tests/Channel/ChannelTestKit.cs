using System.Buffers.Binary;
using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;

namespace Baton.Tests.Channel;

/// <summary>Real socketpairs, a raw sender that can break every rule, and an fd leak probe over /proc/self/fd.</summary>
internal static class ChannelTestKit
{
    public static (ChannelSocket Front, ChannelSocket Worker) CreateConnectedPair()
    {
        var (front, workerEnd) = ChannelSocket.CreatePair();
        // In production the worker end crosses exec as fd 3; in-process the worker just adopts the number.
        return (front, ChannelSocket.FromInheritedFd(workerEnd.DetachFd()));
    }

    public static byte[] Header(ushort type, ulong connectionId, uint bodyLength,
        uint magic = ChannelHeader.Magic, ushort version = ChannelHeader.Version, uint reserved = 0)
    {
        var header = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), version);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), connectionId);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), reserved);
        return header;
    }

    public static byte[] Message(MessageType type, ulong connectionId, byte[] body) =>
        [.. Header((ushort)type, connectionId, (uint)body.Length), .. body];

    /// <summary>One sendmsg of <paramref name="bytes"/> with all <paramref name="fds"/> in one SCM_RIGHTS cmsg.</summary>
    public static unsafe void SendRaw(ChannelSocket from, ReadOnlySpan<byte> bytes, params int[] fds)
    {
        int dataLength = fds.Length * sizeof(int);
        int controlLength = fds.Length == 0 ? 0 : Interop.Libc.CmsgSpace(dataLength);
        ulong* control = stackalloc ulong[Math.Max(1, controlLength / 8)];
        var cmsg = (Interop.Libc.CmsgHdr*)control;
        cmsg->Length = (nuint)Interop.Libc.CmsgLen(dataLength);
        cmsg->Level = Interop.Libc.SOL_SOCKET;
        cmsg->Type = Interop.Libc.SCM_RIGHTS;
        fds.CopyTo(new Span<int>((byte*)control + 16, fds.Length));
        fixed (byte* data = bytes)
        {
            var iov = new Interop.Libc.IoVec { Base = data, Length = (nuint)bytes.Length };
            var message = new Interop.Libc.MsgHdr
            {
                Iov = &iov,
                IovLength = 1,
                Control = controlLength == 0 ? null : control,
                ControlLength = (nuint)controlLength,
            };
            nint sent = Interop.Libc.SendMessage(from.Handle, &message, Interop.Libc.MSG_NOSIGNAL, out int errno);
            Assert.True(sent == bytes.Length, $"raw sendmsg failed: errno {errno}");
        }
    }

    /// <summary>Sends with <paramref name="fdCount"/> fds (each the write end of its own pipe) and checks that the receiver
    /// refuses the message for <paramref name="expected"/> and that every pipe is referenced exactly as often as before.</summary>
    public static void AssertRefused(ChannelSocket sender, ChannelSocket receiver, ChannelError expected, byte[] bytes, int fdCount, byte[] buffer)
    {
        var pipes = Enumerable.Range(0, fdCount).Select(_ => new TestPipe()).ToArray();
        try
        {
            int[] baselines = pipes.Select(p => CountReferences(p.Target)).ToArray();
            SendRaw(sender, bytes, pipes.Select(p => p.WriteFd).ToArray());

            var error = Assert.Throws<ChannelProtocolException>(() => receiver.Receive(buffer));

            Assert.Equal(expected, error.Error);
            Assert.Equal(baselines, pipes.Select(p => CountReferences(p.Target)).ToArray());
        }
        finally
        {
            foreach (var pipe in pipes) pipe.Dispose();
        }
    }

    /// <summary>What /proc/self/fd says <paramref name="fd"/> is ("pipe:[1234]", "socket:[5678]").</summary>
    public static string Target(int fd) => new FileInfo($"/proc/self/fd/{fd}").LinkTarget!;

    /// <summary>How many of this process's fds refer to <paramref name="target"/>. Counting one open file rather than
    /// all fds keeps the probe exact while other test classes open and close fds in parallel.</summary>
    public static int CountReferences(string target)
    {
        int count = 0;
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == target) count++;
            }
            catch (IOException)
            {
                // The fd closed between listing and readlink: it refers to nothing any more.
            }
        }
        return count;
    }
}

/// <summary>A pipe whose write end is what gets passed; the test reads what the receiver writes through its copy.</summary>
internal sealed class TestPipe : IDisposable
{
    public AnonymousPipeServerStream Reader { get; } = new(PipeDirection.In);

    public SafePipeHandle WriteEnd => Reader.ClientSafePipeHandle;

    public int WriteFd => (int)WriteEnd.DangerousGetHandle();

    public string Target => ChannelTestKit.Target(WriteFd);

    public void Dispose() => Reader.Dispose();
}
