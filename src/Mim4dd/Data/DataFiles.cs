using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Data;

/// <summary>Shared steps of the dataset readers: reading files with clear errors and building datasets.</summary>
internal static class DataFiles
{
    /// <summary>More classes than this means the labels are not class indices at all.</summary>
    public const int MaxClasses = 100_000;

    public static byte[] ReadAllBytes(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OutOfMemoryException)
        { throw UserError.At(path, $"cannot read ({e.Message})", "check the path and permissions"); }
    }

    public static FileStream OpenRead(string path)
    {
        try { return File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read ({e.Message})", "check the path and permissions"); }
    }

    public static void RequireDirectory(string dir, string fix)
    {
        if (!Directory.Exists(dir)) throw UserError.At(dir, "no such directory", fix);
    }

    /// <summary>The class names "0", "1", … for labels that carry no names, checking the labels are class indices.</summary>
    public static string[] NumberedClasses(string where, params long[][] labelSets)
    {
        long max = -1;
        foreach (var labels in labelSets)
            foreach (var label in labels)
            {
                if (label < 0) throw UserError.At(where, $"label {label} is negative", "labels must be class indices 0, 1, 2, …");
                max = Math.Max(max, label);
            }
        if (max >= MaxClasses)
            throw UserError.At(where, $"label {max} implies more than {MaxClasses} classes", "labels must be class indices 0, 1, 2, …");
        return Enumerable.Range(0, (int)(max + 1)).Select(i => i.ToString()).ToArray();
    }

    /// <summary>Checks every label indexes <paramref name="classCount"/> classes.</summary>
    public static void CheckLabelRange(string where, long[] labels, int classCount)
    {
        foreach (var label in labels)
            if (label < 0 || label >= classCount)
                throw UserError.At(where, $"label {label} is out of range for {classCount} classes",
                    "the file is corrupt or belongs to another dataset");
    }

    /// <summary>Builds a dataset from uint8 NCHW pixels (one row of C·H·W bytes per image) and int64 labels.</summary>
    public static Dataset Build(byte[] pixels, long channels, long height, long width, long[] labels, IReadOnlyList<string> classNames)
    {
        var shape = new[] { (long)labels.Length, channels, height, width };
        if (pixels.LongLength != labels.Length * channels * height * width)
            throw new ArgumentException($"{pixels.LongLength} pixel bytes do not make [{string.Join(", ", shape)}]");
        var images = tensor(pixels, shape, ScalarType.Byte);
        var labelTensor = tensor(labels, new long[] { labels.Length }, ScalarType.Int64);
        return new Dataset(images, labelTensor, classNames);
    }
}
