using Mim4dd.Runtime;
using StbImageSharp;

namespace Mim4dd.Data;

/// <summary>
/// torchvision's ImageFolder layout: root/&lt;class&gt;/**/*.png|jpg|jpeg|bmp, classes in ordinal order of their
/// folder names. All images must share one size; they load as RGB when any is in colour, else as grayscale.
/// </summary>
public static class ImageFolder
{
    private static readonly string[] Extensions = { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Reads every image under <paramref name="root"/>, labelled by its class folder.</summary>
    public static Dataset Load(string root)
    {
        var folder = Scan(root);
        var probe = Probe(folder.Files, folder.Files[0], channels: 1);
        return Decode(folder, probe);
    }

    /// <summary>Reads root/train and root/test, which must have the same class folders.</summary>
    public static (Dataset Train, Dataset Test) LoadSplit(string root)
    {
        DataFiles.RequireDirectory(root, "pass a folder holding train/<class>/… and test/<class>/…");
        var train = Scan(Path.Combine(root, "train"));
        var test = Scan(Path.Combine(root, "test"));
        if (!test.ClassNames.SequenceEqual(train.ClassNames, StringComparer.Ordinal))
            throw UserError.At(test.Root, $"its classes ({Names(test.ClassNames)}) differ from train's ({Names(train.ClassNames)})",
                "give test the same class folders as train");
        // Train and test are probed together so both get the same size and channel count.
        var trainProbe = Probe(train.Files, train.Files[0], channels: 1);
        var testProbe = Probe(test.Files, train.Files[0], trainProbe.Channels);
        var probe = trainProbe with { Channels = testProbe.Channels };
        var trainSet = Decode(train, probe);
        try { return (trainSet, Decode(test, probe)); }
        catch
        {
            trainSet.Dispose();
            throw;
        }
    }

    private sealed record Folder(string Root, string[] ClassNames, ImageFile[] Files);

    private sealed record ImageFile(string Path, int Label);

    private sealed record Probed(int Width, int Height, int Channels);

    private static string Names(string[] names) => names.Length > 8 ? string.Join(", ", names[..8]) + ", …" : string.Join(", ", names);

    private static Folder Scan(string root)
    {
        DataFiles.RequireDirectory(root, "pass a folder holding one sub-folder of images per class");
        try
        {
            var classDirs = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
            if (classDirs.Length == 0)
                throw UserError.At(root, "has no class folders", "put the images in one sub-folder per class: root/<class>/<image>.png");
            var files = new List<ImageFile>();
            for (int label = 0; label < classDirs.Length; label++)
            {
                var images = ImagesUnder(classDirs[label]);
                if (images.Length == 0)
                    throw UserError.At(classDirs[label], "class folder holds no .png, .jpg, .jpeg or .bmp images",
                        "add images or remove the folder");
                files.AddRange(images.Select(file => new ImageFile(file, label)));
            }
            return new Folder(root, classDirs.Select(dir => Path.GetFileName(dir)).ToArray(), files.ToArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw UserError.At(root, $"cannot list the folder ({e.Message})", "check the path and permissions");
        }
    }

    private static string[] ImagesUnder(string classDir)
    {
        var images = new List<string>();
        var pending = new Stack<string>();
        pending.Push(classDir);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            images.AddRange(Directory.EnumerateFiles(dir)
                .Where(file => Extensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase)));
            // Linked sub-folders are not followed (torchvision does follow them): a link back up the tree
            // would make the walk endless.
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (new DirectoryInfo(sub).LinkTarget is null) pending.Push(sub);
        }
        return images.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Reads every header: checks all sizes equal <paramref name="reference"/>'s and finds whether
    /// any image is in colour (3 channels then, else <paramref name="channels"/>).</summary>
    private static Probed Probe(ImageFile[] files, ImageFile reference, int channels)
    {
        var expected = Info(reference.Path);
        foreach (var file in files)
        {
            var info = Info(file.Path);
            if (info.Width != expected.Width || info.Height != expected.Height)
                throw UserError.At(file.Path, $"is {info.Width}×{info.Height} but {reference.Path} is {expected.Width}×{expected.Height}",
                    "resize all images to one size");
            if (info.ColorComponents is ColorComponents.RedGreenBlue or ColorComponents.RedGreenBlueAlpha) channels = 3;
        }
        return new Probed(expected.Width, expected.Height, channels);
    }

    private static ImageInfo Info(string path)
    {
        try
        {
            using var stream = DataFiles.OpenRead(path);
            var info = ImageInfo.FromStream(stream);
            if (info is { Width: > 0, Height: > 0 } found) return found;
        }
        catch (Exception e) when (e is not UserError)
        {
            throw UserError.At(path, $"cannot read the image header ({e.Message})", "replace or remove the file");
        }
        throw UserError.At(path, "not a readable PNG, JPEG or BMP image", "replace or remove the file");
    }

    private static Dataset Decode(Folder folder, Probed probe)
    {
        long imageLength = (long)probe.Channels * probe.Height * probe.Width;
        if (imageLength * folder.Files.Length > Array.MaxLength)
            throw UserError.At(folder.Root, $"{folder.Files.Length} images of {probe.Width}×{probe.Height} do not fit in one array",
                "use fewer or smaller images");
        var pixels = new byte[imageLength * folder.Files.Length];
        var components = probe.Channels == 3 ? ColorComponents.RedGreenBlue : ColorComponents.Grey;
        for (int index = 0; index < folder.Files.Length; index++)
        {
            var path = folder.Files[index].Path;
            var image = DecodeFile(path, components);
            if (image.Width != probe.Width || image.Height != probe.Height)
                throw UserError.At(path, $"decodes to {image.Width}×{image.Height}, not {probe.Width}×{probe.Height}",
                    "resize all images to one size");
            InterleavedToPlanar(image.Data, pixels.AsSpan((int)(index * imageLength), (int)imageLength), probe.Channels);
        }
        var labels = folder.Files.Select(file => (long)file.Label).ToArray();
        return DataFiles.Build(pixels, probe.Channels, probe.Height, probe.Width, labels, folder.ClassNames);
    }

    private static ImageResult DecodeFile(string path, ColorComponents components)
    {
        var bytes = DataFiles.ReadAllBytes(path);
        ImageChecks.RequireComplete(bytes, path);
        try { return ImageResult.FromMemory(bytes, components); }
        catch (Exception e) when (e is not UserError)
        {
            throw UserError.At(path, $"cannot decode the image ({e.Message})", "replace or remove the file");
        }
    }

    /// <summary>Copies HWC pixels into CHW order.</summary>
    internal static void InterleavedToPlanar(ReadOnlySpan<byte> source, Span<byte> target, int channels)
    {
        int plane = target.Length / channels;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < channels; c++)
                target[c * plane + p] = source[p * channels + c];
    }
}
