using Mim4dd.Data;
using Mim4dd.Runtime;
using Xunit;

namespace Mim4dd.Tests.Data;

/// <summary>A fresh temp directory per test, deleted afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mim4dd-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    /// <summary>Writes bytes to a file under the directory, creating folders on the way.</summary>
    public string Write(string relativePath, byte[] bytes)
    {
        var full = File(relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, bytes);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

internal static class TestFiles
{
    /// <summary>Asserts the action throws a UserError whose message names <paramref name="path"/>.</summary>
    public static UserError AssertUserError(Action action, string path)
    {
        var error = Assert.Throws<UserError>(action);
        Assert.Contains(path, error.Message);
        return error;
    }

    /// <summary>Deterministic test bytes: value i is a hash of (seed, i), so misplaced bytes show up.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)((i * 31 + seed * 17 + (i >> 8) * 7) & 0xff);
        return bytes;
    }

    public static byte[] Truncate(byte[] bytes, int keep) => bytes.AsSpan(0, keep).ToArray();

    public static byte[] ImagesOf(Dataset dataset) => dataset.ImagesU8.contiguous().data<byte>().ToArray();

    public static long[] LabelsOf(Dataset dataset) => dataset.Labels.data<long>().ToArray();

    public static long[] ShapeOf(Dataset dataset) => dataset.ImagesU8.shape;

    /// <summary>HWC pixels of several images to the CHW layout the datasets hold.</summary>
    public static byte[] ToPlanar(byte[] interleaved, int images, int channels)
    {
        int plane = interleaved.Length / images / channels;
        var planar = new byte[interleaved.Length];
        for (int n = 0; n < images; n++)
            for (int p = 0; p < plane; p++)
                for (int c = 0; c < channels; c++)
                    planar[(n * channels + c) * plane + p] = interleaved[(n * plane + p) * channels + c];
        return planar;
    }
}
