namespace Baton.IO;

/// <summary>
/// Running as another user: the front (root) spawns a pool's workers, and each worker drops to the
/// configured user before it reads anything from its channel.
/// </summary>
internal static class ProcessIdentity
{
    /// <summary>Switches groups, gid and uid to <paramref name="user"/>'s.</summary>
    public static unsafe void SwitchTo(string user)
    {
        (uint uid, uint gid) = Interop.Libc.GetUser(user) ?? throw new InvalidOperationException($"worker user '{user}' does not exist");
        // Order matters: supplementary groups and gid can only be changed while still root.
        Interop.ThrowIfMinusOne(Interop.Libc.SetGroups(1, &gid), "setgroups");
        Interop.ThrowIfMinusOne(Interop.Libc.SetGid(gid), "setgid");
        Interop.ThrowIfMinusOne(Interop.Libc.SetUid(uid), "setuid");
    }

    /// <summary>Null when this process can start others as <paramref name="user"/>, else why not.</summary>
    public static string? Problem(string user)
    {
        if (Interop.Libc.GetUser(user) is null)
            return $"user '{user}' does not exist";
        return Interop.Libc.GetEUid() == 0 ? null : "running workers as another user needs the front to run as root";
    }
}
