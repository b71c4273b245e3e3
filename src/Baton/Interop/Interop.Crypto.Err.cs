using System.Runtime.InteropServices;
using System.Text;

internal static partial class Interop
{
    internal static partial class Crypto
    {
        [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_clear_error")]
        internal static partial void ErrClearError();

        [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_get_error")]
        internal static partial nuint ErrGetError();

        [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_error_string_n")]
        private static unsafe partial void ErrErrorStringN(nuint e, byte* buf, nuint len);

        [LibraryImport(Libraries.Crypto, EntryPoint = "OpenSSL_version_num")]
        internal static partial nuint OpenSslVersionNumber();

        /// <summary>Drains OpenSSL's thread-local error queue into one exception.</summary>
        internal static OpenSslException CreateOpenSslException(string call)
        {
            var reasons = new StringBuilder();
            nuint code;
            nuint first = 0;
            while ((code = ErrGetError()) != 0)
            {
                if (first == 0) first = code;
                if (reasons.Length > 0) reasons.Append("; ");
                reasons.Append(ErrorString(code));
            }
            string detail = reasons.Length > 0 ? reasons.ToString() : "no OpenSSL error queued";
            return new OpenSslException(call, first, detail);
        }

        private static unsafe string ErrorString(nuint code)
        {
            byte* buf = stackalloc byte[256];
            ErrErrorStringN(code, buf, 256);
            return Marshal.PtrToStringUTF8((nint)buf) ?? code.ToString("x");
        }
    }
}
