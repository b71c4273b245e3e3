using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial nint GetPwNamRaw(string name);

        [LibraryImport(Libraries.Libc, EntryPoint = "setgroups", SetLastError = true)]
        internal static unsafe partial int SetGroups(nuint size, uint* groups);

        [LibraryImport(Libraries.Libc, EntryPoint = "setgid", SetLastError = true)]
        internal static partial int SetGid(uint gid);

        [LibraryImport(Libraries.Libc, EntryPoint = "setuid", SetLastError = true)]
        internal static partial int SetUid(uint uid);

        [LibraryImport(Libraries.Libc, EntryPoint = "geteuid")]
        internal static partial uint GetEUid();

        /// <summary>
        /// The uid and gid of a user, or null when there is none. struct passwd starts with two
        /// pointers (pw_name, pw_passwd) followed by pw_uid and pw_gid on every 64-bit glibc target.
        /// </summary>
        internal static unsafe (uint Uid, uint Gid)? GetUser(string name)
        {
            nint entry = GetPwNamRaw(name);
            if (entry == 0)
                return null;
            byte* ids = (byte*)entry + 2 * sizeof(nint);
            return (*(uint*)ids, *(uint*)(ids + sizeof(uint)));
        }
    }
}
