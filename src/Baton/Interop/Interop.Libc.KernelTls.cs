using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // linux/tcp.h, linux/socket.h and linux/tls.h (uapi; the same on every architecture).
        internal const int SOL_TCP = 6;
        internal const int TCP_ULP = 31;
        internal const int SOL_TLS = 282;
        internal const int TLS_TX = 1;
        internal const int TLS_RX = 2;
        internal const int TLS_SET_RECORD_TYPE = 1;
        internal const int TLS_GET_RECORD_TYPE = 2;
        internal const int MSG_EOR = 0x80;
        internal const int EINVAL = 22;
        internal const int EBADMSG = 74;
        internal const int EMSGSIZE = 90;
        internal const int EKEYEXPIRED = 127;

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        private static unsafe partial int KernelTlsSetSockOptRaw(SafeHandle socket, int level, int name, void* value, uint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
        private static unsafe partial nint KernelTlsSendMsgRaw(SafeHandle socket, MsgHdr* message, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        private static unsafe partial nint KernelTlsRecvMsgRaw(SafeHandle socket, MsgHdr* message, int flags);

        /// <summary>setsockopt(2) with an arbitrary option buffer; returns 0 or errno (callers decide whether it is fatal).</summary>
        internal static unsafe int SetSocketOption(SafeHandle socket, int level, int name, ReadOnlySpan<byte> value)
        {
            fixed (byte* p = value)
            {
                return KernelTlsSetSockOptRaw(socket, level, name, p, (uint)value.Length) == 0 ? 0 : LastErrno;
            }
        }

        /// <summary>
        /// sendmsg(2) of one TLS record of <paramref name="contentType"/> on a kernel TLS socket (cmsg SOL_TLS /
        /// TLS_SET_RECORD_TYPE); the kernel seals it. Retried on EINTR; returns the byte count or -1 with errno.
        /// </summary>
        internal static unsafe nint SendTlsRecord(SafeHandle socket, byte contentType, ReadOnlySpan<byte> content, int flags, out int errno)
        {
            int controlLength = CmsgSpace(1);
            byte* control = stackalloc byte[controlLength];
            new Span<byte>(control, controlLength).Clear();
            var header = (CmsgHdr*)control;
            header->Length = (nuint)CmsgLen(1);
            header->Level = SOL_TLS;
            header->Type = TLS_SET_RECORD_TYPE;
            control[CmsgAlign(sizeof(CmsgHdr))] = contentType;
            nint result;
            fixed (byte* data = content)
            {
                var iov = new IoVec { Base = data, Length = (nuint)content.Length };
                var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
                do
                {
                    result = KernelTlsSendMsgRaw(socket, &message, flags);
                    errno = result < 0 ? LastErrno : 0;
                }
                while (errno == EINTR);
            }
            return result;
        }

        /// <summary>
        /// recvmsg(2) on a kernel TLS socket with room for the TLS_GET_RECORD_TYPE cmsg. Without that room the kernel
        /// fails with EIO on a control record, so every read goes through here. <paramref name="contentType"/> is the
        /// record's content type (23 when the kernel attached none, as at end of stream); <paramref name="messageFlags"/>
        /// carries MSG_EOR once a whole record was consumed. Retried on EINTR; returns the byte count or -1 with errno.
        /// </summary>
        internal static unsafe nint ReceiveTlsRecord(
            SafeHandle socket, Span<byte> buffer, int flags, out byte contentType, out int messageFlags, out int errno)
        {
            int controlLength = CmsgSpace(sizeof(int));
            byte* control = stackalloc byte[controlLength];
            nint result;
            MsgHdr message;
            fixed (byte* data = buffer)
            {
                var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
                do
                {
                    new Span<byte>(control, controlLength).Clear();
                    message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
                    result = KernelTlsRecvMsgRaw(socket, &message, flags);
                    errno = result < 0 ? LastErrno : 0;
                }
                while (errno == EINTR);
            }
            messageFlags = result < 0 ? 0 : message.Flags;
            contentType = 23;
            var header = (CmsgHdr*)control;
            if (result >= 0 && message.ControlLength >= (nuint)CmsgLen(1) && header->Level == SOL_TLS
                && header->Type == TLS_GET_RECORD_TYPE && header->Length >= (nuint)CmsgLen(1))
            {
                contentType = control[CmsgAlign(sizeof(CmsgHdr))];
            }
            return result;
        }
    }
}
