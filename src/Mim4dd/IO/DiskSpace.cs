using Mim4dd.Runtime;

namespace Mim4dd.IO;

/// <summary>Refuses work whose output will not fit, before hours are spent on it.</summary>
public static class DiskSpace
{
    /// <summary>Headroom on top of every estimate: logs, reports and the temp copy of an atomic write.</summary>
    public const long MarginBytes = 64L << 20;

    /// <summary>Throws a <see cref="UserError"/> when the disk of <paramref name="directory"/> has less than
    /// <paramref name="bytes"/> + <see cref="MarginBytes"/> free.</summary>
    public static void Require(string directory, long bytes, string what)
    {
        var full = Path.GetFullPath(directory);
        long free;
        try
        {
            Directory.CreateDirectory(full);
            free = new DriveInfo(full).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw UserError.At(full, $"cannot create or inspect the folder ({e.Message})", "pass a writable folder");
        }
        if (free < bytes + MarginBytes)
            throw UserError.At(full, $"{what} need about {Megabytes(bytes + MarginBytes)} but the disk has {Megabytes(free)} free",
                "free some space or write to another disk");
    }

    private static string Megabytes(long bytes) => $"{bytes / (1024.0 * 1024):F0} MB";
}
