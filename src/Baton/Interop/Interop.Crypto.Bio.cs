using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_s_mem")]
        internal static partial nint BioSMem();

        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_new")]
        internal static partial SafeBioHandle BioNew(nint method);

        /// <summary>A read-only BIO over caller memory: OpenSSL does not copy it, so the memory must stay pinned until BIO_free.</summary>
        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_new_mem_buf")]
        internal static unsafe partial SafeBioHandle BioNewMemBuf(byte* buffer, int length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_free")]
        internal static partial int BioFree(nint bio);

        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_read")]
        internal static unsafe partial int BioRead(SafeBioHandle bio, byte* buffer, int length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_write")]
        internal static unsafe partial int BioWrite(SafeBioHandle bio, byte* buffer, int length);

        [LibraryImport(Libraries.Crypto, EntryPoint = "BIO_ctrl_pending")]
        internal static partial nuint BioCtrlPending(SafeBioHandle bio);
    }
}
