namespace Mim4dd.Data;

/// <summary>Where downloads and converted datasets live: --cache-dir, else $MIM4DD_CACHE, else ~/.cache/mim4dd.</summary>
public static class CacheDirectory
{
    public static string Resolve(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return Path.GetFullPath(option);
        var env = Environment.GetEnvironmentVariable("MIM4DD_CACHE");
        if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "mim4dd");
    }
}
