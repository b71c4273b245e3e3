using Microsoft.Extensions.Configuration;

namespace Baton.Hosting;

/// <summary>
/// Workers write to the front's stdout, so their console lines should look like the front's: the Logging:Console
/// settings of the front's configuration file are put into the front's environment as Logging__Console__* variables,
/// which workers inherit (Channel.WorkerEnvironment) and the built-in worker and ASP.NET Core apps read. A variable the
/// environment already sets is left alone: it is what the front itself read, since variables override the file.
/// </summary>
internal static class WorkerConsoleSettings
{
    public static void ShareWithWorkers(IConfiguration configuration)
    {
        foreach ((string key, string? value) in configuration.GetSection("Logging:Console").AsEnumerable())
        {
            string variable = key.Replace(ConfigurationPath.KeyDelimiter, "__", StringComparison.Ordinal);
            if (value is not null && Environment.GetEnvironmentVariable(variable) is null)
                Environment.SetEnvironmentVariable(variable, value);
        }
    }
}
