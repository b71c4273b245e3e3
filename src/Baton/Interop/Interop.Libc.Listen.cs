internal static partial class Interop
{
    internal static partial class Libc
    {
        // Linux uapi values (x86_64 and arm64 agree), for checking a listening socket this process was given.
        internal const int AF_INET = 2;
        internal const int AF_INET6 = 10;
        internal const int SOCK_STREAM = 1;
        internal const int SO_ACCEPTCONN = 30;
        internal const int SO_DOMAIN = 39;
        internal const int SIGUSR2 = 12;
    }
}
