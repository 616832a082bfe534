using System.Collections;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// The CIFAR "python version" archives as extracted from cifar-10-python.tar.gz (data_batch_1..5, test_batch,
/// batches.meta) or cifar-100-python.tar.gz (train, test, meta). Each batch is a pickled dict whose "data" is
/// a uint8 numpy array [N, 3072] of 32×32 images in CHW order, with a list of labels beside it.
/// </summary>
public static class CifarPickle
{
    private const int Side = 32;
    private const int RowLength = 3 * Side * Side;
    private static readonly string[] Cifar10Train = Enumerable.Range(1, 5).Select(i => $"data_batch_{i}").ToArray();

    /// <summary>Reads CIFAR-10 or CIFAR-100, whichever <paramref name="dir"/> holds (or its
    /// cifar-10-batches-py / cifar-100-python folder).</summary>
    public static (Dataset Train, Dataset Test) Load(string dir)
    {
        DataFiles.RequireDirectory(dir, "pass the folder extracted from cifar-10-python.tar.gz or cifar-100-python.tar.gz");
        if (!IsCifar10(dir) && !IsCifar100(dir))
        {
            var extracted = new[] { "cifar-10-batches-py", "cifar-100-python" }.Select(child => Path.Combine(dir, child))
                .Where(Directory.Exists).ToArray();
            if (extracted.Length > 1)
                throw UserError.At(dir, "holds both cifar-10-batches-py and cifar-100-python", "pass the one folder you want");
            if (extracted.Length == 1) dir = extracted[0];
        }
        bool cifar10 = IsCifar10(dir), cifar100 = IsCifar100(dir);
        if (cifar10 && cifar100)
            throw UserError.At(dir, "holds both CIFAR-10 (batches.meta) and CIFAR-100 (meta) files", "keep each dataset in its own folder");
        if (cifar10) return LoadSet(dir, Cifar10Train, "test_batch", "batches.meta", "labels", "label_names", "cifar-10-python.tar.gz");
        if (cifar100) return LoadSet(dir, new[] { "train" }, "test", "meta", "fine_labels", "fine_label_names", "cifar-100-python.tar.gz");
        var archive = Directory.EnumerateFiles(dir, "cifar-*-python.tar.gz").FirstOrDefault();
        throw UserError.At(dir,
            "holds no CIFAR pickle batches (CIFAR-10: data_batch_1..5, test_batch, batches.meta; CIFAR-100: train, test, meta)",
            archive is null ? "pass the folder extracted from cifar-10-python.tar.gz or cifar-100-python.tar.gz"
                : $"extract {Path.GetFileName(archive)} first (tar xzf) and pass the folder it creates");
    }

    private static bool IsCifar10(string dir) =>
        File.Exists(Path.Combine(dir, "batches.meta")) || File.Exists(Path.Combine(dir, "data_batch_1"));

    private static bool IsCifar100(string dir) =>
        File.Exists(Path.Combine(dir, "meta")) || File.Exists(Path.Combine(dir, "train"));

    private static (Dataset Train, Dataset Test) LoadSet(string dir, string[] trainFiles, string testFile, string metaFile,
        string labelsKey, string namesKey, string archive)
    {
        foreach (var file in trainFiles.Append(testFile).Append(metaFile))
            if (!File.Exists(Path.Combine(dir, file)))
                throw UserError.At(Path.Combine(dir, file), "missing", $"extract the whole {archive} into {dir}");
        var classNames = ReadClassNames(Path.Combine(dir, metaFile), namesKey);
        var train = ReadBatches(trainFiles.Select(file => Path.Combine(dir, file)), labelsKey, classNames);
        try
        {
            var test = ReadBatches(new[] { Path.Combine(dir, testFile) }, labelsKey, classNames);
            return (train, test);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    private static string[] ReadClassNames(string path, string namesKey)
    {
        var dict = ReadDict(path);
        if (!dict.TryGetValue(namesKey, out var value) || value is not ArrayList list)
            throw UserError.At(path, $"has no '{namesKey}' list", "pass the meta file from the CIFAR archive");
        var names = new string[list.Count];
        for (int i = 0; i < names.Length; i++)
            names[i] = NumpyPickle.AsText(list[i])
                ?? throw UserError.At(path, $"{namesKey}[{i}] is not a string", "the file is corrupt; download it again");
        if (names.Length == 0) throw UserError.At(path, $"'{namesKey}' is empty", "the file is corrupt; download it again");
        return names;
    }

    private static Dataset ReadBatches(IEnumerable<string> paths, string labelsKey, string[] classNames)
    {
        var pixelParts = new List<byte[]>();
        var labelParts = new List<long[]>();
        long total = 0;
        foreach (var path in paths)
        {
            var (pixels, labels) = ReadBatch(path, labelsKey, classNames.Length);
            pixelParts.Add(pixels);
            labelParts.Add(labels);
            total += labels.Length;
        }
        if (total * RowLength > Array.MaxLength)
            throw UserError.At(paths.First(), $"{total} images do not fit in one array", "split the dataset");
        var allPixels = new byte[total * RowLength];
        long offset = 0;
        foreach (var part in pixelParts)
        {
            Array.Copy(part, 0, allPixels, offset, part.LongLength);
            offset += part.LongLength;
        }
        return DataFiles.Build(allPixels, 3, Side, Side, labelParts.SelectMany(part => part).ToArray(), classNames);
    }

    private static (byte[] Pixels, long[] Labels) ReadBatch(string path, string labelsKey, int classCount)
    {
        var dict = ReadDict(path);
        if (!dict.TryGetValue("data", out var value) || value is not NumpyPickle.PickledArray { Array: { } data })
            throw UserError.At(path, "has no 'data' numpy array", "pass a CIFAR batch file (data_batch_*, test_batch, train, test)");
        if (data.Type is not { Kind: 'u', Size: 1 } || data.Shape.Length < 1 || data.Shape[0] == 0
            || data.Count / data.Shape[0] != RowLength || data.Count % data.Shape[0] != 0)
            throw UserError.At(path, $"'data' is {data.Describe()}, not uint8 [N, {RowLength}]",
                "pass a CIFAR batch file from the python archive");
        var labels = dict.TryGetValue(labelsKey, out var labelValue) ? NumpyPickle.AsIntegers(labelValue, path, labelsKey) : null;
        if (labels is null)
            throw UserError.At(path, $"has no '{labelsKey}' list", "pass a CIFAR batch file from the python archive");
        if (labels.Length != data.Shape[0])
            throw UserError.At(path, $"{labels.Length} labels for {data.Shape[0]} images", "the file is corrupt; download it again");
        DataFiles.CheckLabelRange(path, labels, classCount);
        return (data.Data, labels);
    }

    /// <summary>A batch's top-level dict with its keys as text (Python 2 str and Python 3 bytes keys alike).</summary>
    private static Dictionary<string, object?> ReadDict(string path)
    {
        var root = NumpyPickle.Load(DataFiles.ReadAllBytes(path), path);
        if (root is not Hashtable table)
            throw UserError.At(path, $"the pickle holds a {root?.GetType().Name ?? "None"}, not a dict",
                "pass a file from the CIFAR python archive");
        var dict = new Dictionary<string, object?>();
        foreach (DictionaryEntry entry in table)
            if (NumpyPickle.AsText(entry.Key) is { } key) dict[key] = entry.Value;
        return dict;
    }
}
