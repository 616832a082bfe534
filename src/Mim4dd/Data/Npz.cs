using System.IO.Compression;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// numpy .npz files (a zip of .npy arrays, as numpy.savez / savez_compressed write them) holding uint8 or
/// [0, 1] float images and integer labels.
/// </summary>
public static class Npz
{
    /// <summary>Reads images and labels stored under <paramref name="imagesKey"/> and <paramref name="labelsKey"/>.</summary>
    public static Dataset Load(string path, string imagesKey = "x", string labelsKey = "y")
    {
        var arrays = ReadArrays(path, [imagesKey, labelsKey]);
        var part = ToPart(path, arrays[imagesKey], arrays[labelsKey], imagesKey, labelsKey);
        return Build(part, DataFiles.NumberedClasses(path, part.Labels));
    }

    /// <summary>Reads a train/test pair: one .npz with x_train, y_train, x_test, y_test (the Keras layout),
    /// or a folder with train.npz and test.npz holding x and y each.</summary>
    public static (Dataset Train, Dataset Test) LoadSplit(string pathOrDir)
    {
        Part train, test;
        if (Directory.Exists(pathOrDir))
        {
            string trainPath = Path.Combine(pathOrDir, "train.npz"), testPath = Path.Combine(pathOrDir, "test.npz");
            foreach (var file in new[] { trainPath, testPath })
                if (!File.Exists(file)) throw UserError.At(file, "missing", "put train.npz and test.npz (arrays x and y) in the folder");
            var trainArrays = ReadArrays(trainPath, ["x", "y"]);
            train = ToPart(trainPath, trainArrays["x"], trainArrays["y"], "x", "y");
            var testArrays = ReadArrays(testPath, ["x", "y"]);
            test = ToPart(testPath, testArrays["x"], testArrays["y"], "x", "y");
        }
        else
        {
            var arrays = ReadArrays(pathOrDir, ["x_train", "y_train", "x_test", "y_test"]);
            train = ToPart(pathOrDir, arrays["x_train"], arrays["y_train"], "x_train", "y_train");
            test = ToPart(pathOrDir, arrays["x_test"], arrays["y_test"], "x_test", "y_test");
        }
        if (test.Images.Channels != train.Images.Channels || test.Images.Height != train.Images.Height
            || test.Images.Width != train.Images.Width)
            throw UserError.At(test.Where, $"test images are {Describe(test.Images)} but train images are {Describe(train.Images)}",
                "store train and test images at the same size");
        var classNames = DataFiles.NumberedClasses(pathOrDir, train.Labels, test.Labels);
        var trainSet = Build(train, classNames);
        try { return (trainSet, Build(test, classNames)); }
        catch
        {
            trainSet.Dispose();
            throw;
        }
    }

    private sealed record Part(string Where, ImageLayout.Images Images, long[] Labels);

    private static string Describe(ImageLayout.Images images) => $"{images.Channels}×{images.Height}×{images.Width}";

    private static Dataset Build(Part part, string[] classNames) =>
        DataFiles.Build(part.Images.Pixels, part.Images.Channels, part.Images.Height, part.Images.Width, part.Labels, classNames);

    private static Part ToPart(string path, NdArray imageArray, NdArray labelArray, string imagesKey, string labelsKey)
    {
        var images = ImageLayout.ToNchw(imageArray, path, $"images '{imagesKey}'");
        if (images.Count == 0) throw UserError.At(path, $"images '{imagesKey}' hold no images", "store at least one image");
        var labelShape = labelArray.Shape;
        // Keras stores CIFAR labels as [N, 1].
        if (labelShape.Length is not (1 or 2) || (labelShape.Length == 2 && labelShape[1] != 1))
            throw UserError.At(path, $"labels '{labelsKey}' have shape [{string.Join(", ", labelShape)}]", "store labels as [N] or [N, 1]");
        if (labelShape[0] != images.Count)
            throw UserError.At(path, $"{labelShape[0]} labels '{labelsKey}' for {images.Count} images '{imagesKey}'",
                "store one label per image");
        return new Part(path, images, labelArray.ToIntegers(path, $"labels '{labelsKey}'"));
    }

    /// <summary>Those of the arrays named <paramref name="keys"/> that the file holds, by name.</summary>
    internal static Dictionary<string, NdArray> ReadSome(string path, string[] keys) => ReadArrays(path, keys, required: false);

    /// <summary>The arrays named <paramref name="keys"/>; with <paramref name="required"/>, a missing one is an error.</summary>
    private static Dictionary<string, NdArray> ReadArrays(string path, string[] keys, bool required = true)
    {
        if (!File.Exists(path)) throw UserError.At(path, "no such file", "pass a .npz file written by numpy.savez");
        using var file = DataFiles.OpenRead(path);
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            var arrays = new Dictionary<string, NdArray>();
            foreach (var key in keys)
            {
                var entry = zip.GetEntry(key + ".npy");
                if (entry is null && !required) continue;
                if (entry is null)
                    throw UserError.At(path, $"has no array '{key}' (it holds: {string.Join(", ", ArrayNames(zip))})",
                        $"store the arrays as {string.Join(", ", keys)}, or pass the names it has");
                using var stream = entry.Open();
                arrays[key] = Npy.Read(stream, entry.Length, $"{path}[{key}]");
            }
            return arrays;
        }
        // Zip and deflate errors come as several exception types; all mean the same to the user.
        catch (Exception e) when (e is not UserError)
        {
            throw UserError.At(path, $"not a readable .npz file ({e.Message})", "the file is corrupt or not a numpy .npz; save it again");
        }
    }

    private static IEnumerable<string> ArrayNames(ZipArchive zip) =>
        zip.Entries.Select(entry => entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName);
}
