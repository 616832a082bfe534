using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Experts;

/// <summary>The options a store was made with (<c>store.json</c>); every expert in the store follows them.</summary>
public sealed record ExpertStoreConfig(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("parameter_count")] long ParameterCount,
    [property: JsonPropertyName("train_images")] long TrainImages,
    [property: JsonPropertyName("num_experts")] int NumExperts,
    [property: JsonPropertyName("epochs")] int Epochs,
    [property: JsonPropertyName("lr_teacher")] double LearningRate,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("zca")] bool Zca,
    [property: JsonPropertyName("dsa_strategy")] string DsaStrategy,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("mim4dd_version")] string Version);

/// <summary>Which experts a <see cref="ExpertStore.RunAll"/> call trained and which it found finished.</summary>
public sealed record ExpertRunSummary(IReadOnlyList<int> Trained, IReadOnlyList<int> Skipped);

/// <summary>
/// A directory of expert trajectories, <c>&lt;dataset&gt;-&lt;arch&gt;[-zca]/</c>: <c>expert_0000.m4e</c>, …,
/// <c>store.json</c>, and <c>zca.bin</c> when the experts trained on whitened images. Each expert file is
/// written atomically when its training ends; the expert in training is saved part-way every minute
/// (<see cref="PartialExpert"/>), so a killed run loses at most a minute of it.
/// </summary>
public static class ExpertStore
{
    public const string ConfigFileName = "store.json";
    private const int WhitenChunk = 1024;
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        // The header is read by people too: keep '+' in version strings as it is.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string FileName(int expertIndex) => $"expert_{expertIndex:D4}{ExpertFile.Extension}";

    /// <summary>The network of the store's first expert file, or null when it has none (loading then says so).</summary>
    public static string? Arch(string directory) => FirstMetadata(directory)?.Arch;

    /// <summary>What the store's first expert file says (dataset, network, ZCA), or null when it has none.</summary>
    public static ExpertMetadata? FirstMetadata(string directory) =>
        Directory.Exists(directory)
        && Directory.GetFiles(directory, $"expert_*{ExpertFile.Extension}").Order(StringComparer.Ordinal).FirstOrDefault() is { } first
            ? ExpertFile.ReadMetadata(first)
            : null;

    public static string DefaultDirectory(string dataset, string arch, bool zca) =>
        Path.Combine("runs", "experts", $"{dataset.ToLowerInvariant()}-{arch}{(zca ? "-zca" : "")}");

    /// <summary>
    /// Trains the experts 0..NumExperts−1 of <paramref name="shard"/> that have no file yet, continuing one that was
    /// stopped part-way. Refuses a store made with other options; a larger NumExperts extends the store.
    /// </summary>
    /// <param name="stop">Saves the expert in training after its current epoch and throws <see cref="RunStoppedException"/>.</param>
    /// <param name="saveEvery">How often an expert in training is saved part-way (default: every minute, at an epoch's end).</param>
    public static ExpertRunSummary RunAll(DataSplit data, string arch, ExpertOptions options, string directory, Shard shard,
        Action<string> log, CancellationToken stop = default, TimeSpan? saveEvery = null)
    {
        options.Validate();
        var net = NetRegistry.Build(arch, new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.NumClasses);
        var config = new ExpertStoreConfig(data.Name, net.Name, net.ParameterCount, data.Train.Count, options.NumExperts, options.Epochs,
            options.LearningRate, options.BatchSize, options.Zca, Dsa.StrategyFor(data.Name), options.Seed, ExpertTraining.Version);
        OpenConfig(directory, config);

        var selected = Enumerable.Range(0, options.NumExperts).Where(shard.Contains).ToList();
        var skipped = selected.Where(i => File.Exists(Path.Combine(directory, FileName(i)))).ToList();
        foreach (int index in skipped) CheckFinished(Path.Combine(directory, FileName(index)), config, index);
        var missing = selected.Except(skipped).ToList();
        // Each expert file holds (epochs + 1) float32 snapshots; a full disk found after hours of training loses them.
        // One more for the expert in training: its part-way file lives beside the finished one until that is saved.
        long expertBytes = (options.Epochs + 1L) * net.ParameterCount * sizeof(float);
        if (missing.Count > 0)
            DiskSpace.Require(directory, (missing.Count + 1) * expertBytes, $"{missing.Count} expert file(s) and one part-way copy");
        var partial = missing.Where(i => File.Exists(PartialExpert.TrajectoryPath(directory, i))).ToList();
        log($"experts in {directory}: shard {shard} has {selected.Count} of {options.NumExperts}; {skipped.Count} finished"
            + (skipped.Count > 0 ? $" ({string.Join(", ", skipped)})" : "") + $", {missing.Count} to train"
            + (partial.Count > 0 ? $" (continuing {string.Join(", ", partial.Select(i => $"expert {i}"))} from part-way)" : ""));
        if (missing.Count == 0) return new ExpertRunSummary([], skipped);

        var (images, testImages) = PrepareImages(data, options.Zca, directory, log);
        using (images)
        using (testImages)
        {
            var clock = Stopwatch.StartNew();
            for (int k = 0; k < missing.Count; k++)
            {
                int index = missing[k];
                log($"expert {index}: training ({k + 1}/{missing.Count} of this run)");
                var partialPath = PartialExpert.TrajectoryPath(directory, index);
                var saving = new ExpertTraining.PartialSaving(partialPath, saveEvery ?? TimeSpan.FromMinutes(1), stop);
                using var trajectory = ExpertTraining.Train(data, images, net.Name, options, index, log, testImages, saving);
                ExpertFile.Save(Path.Combine(directory, FileName(index)), trajectory);
                PartialExpert.Delete(partialPath);
                log($"expert {index}: saved {FileName(index)}  ({clock.Elapsed.TotalMinutes:F1} min this run)");
            }
        }
        return new ExpertRunSummary(missing, skipped);
    }

    /// <summary>Every expert of a store, verified, checked to belong to <paramref name="net"/> and <paramref name="dataset"/>.</summary>
    public static List<ExpertTrajectory> LoadAll(string directory, Net net, string dataset)
    {
        var paths = Directory.Exists(directory)
            ? Directory.GetFiles(directory, $"expert_*{ExpertFile.Extension}").Order(StringComparer.Ordinal).ToList()
            : [];
        if (paths.Count == 0)
            throw UserError.At(directory, "no expert files (expert_NNNN.m4e) here",
                "train them with `mim4dd experts`, or pass the store's directory");
        // A store whose shards are still training (or stopped) would silently distil on a fraction of its experts.
        var listed = Path.Combine(directory, ConfigFileName);
        if (File.Exists(listed) && ReadConfig(listed).NumExperts is var expected && expected > paths.Count)
            throw UserError.At(directory, $"holds {paths.Count} of the {expected} experts its {ConfigFileName} lists "
                + "(a shard or Slurm task still training, or stopped)",
                "finish the store with the same `mim4dd experts` command (per shard), then distil");
        var experts = new List<ExpertTrajectory>(paths.Count);
        try
        {
            foreach (var path in paths)
            {
                var expert = ExpertFile.Load(path);
                experts.Add(expert);
                var m = expert.Metadata;
                if (!m.Arch.Equals(net.Name, StringComparison.OrdinalIgnoreCase) || m.ParameterCount != net.ParameterCount
                    || !m.Dataset.Equals(dataset, StringComparison.OrdinalIgnoreCase))
                    throw UserError.At(path,
                        $"expert file from another network/dataset ({m.Arch}, {m.ParameterCount} parameters, on {m.Dataset}; "
                            + $"this run uses {net.Name}, {net.ParameterCount} parameters, on {dataset})",
                        "pass a store trained for this network and dataset (distill uses the experts' network when --arch is left out)");
                var first = experts[0].Metadata;
                if (m.Snapshots != first.Snapshots || m.Zca != first.Zca || m.LearningRate != first.LearningRate)
                    throw UserError.At(path, $"this expert ({m.Epochs} epochs, lr {m.LearningRate}, zca {m.Zca}) "
                        + $"differs from {Path.GetFileName(paths[0])} ({first.Epochs} epochs, lr {first.LearningRate}, zca {first.Zca})",
                        "keep experts of one training setup per directory");
            }
            return experts;
        }
        catch
        {
            foreach (var expert in experts) expert.Dispose();
            throw;
        }
    }

    /// <summary>Creates the store or checks that it was made with the same options, then records them.</summary>
    private static void OpenConfig(string directory, ExpertStoreConfig requested)
    {
        var path = Path.Combine(directory, ConfigFileName);
        try { Directory.CreateDirectory(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UserError.At(directory, $"cannot create the expert store ({e.Message})", "pass --out with a writable folder"); }
        var effective = requested;
        if (File.Exists(path))
        {
            var stored = ReadConfig(path);
            foreach (var (option, was, now) in Differences(stored, requested))
                throw UserError.At(directory, $"this expert store was made with {option} {was}, this run asks for {now}",
                    $"run with {option} {was} to continue it, or pass a different --out");
            effective = requested with { NumExperts = Math.Max(stored.NumExperts, requested.NumExperts), Version = stored.Version };
            if (effective == stored) return;
        }
        WriteConfig(directory, effective);
    }

    /// <summary>Writes the store's store.json.</summary>
    internal static void WriteConfig(string directory, ExpertStoreConfig config) =>
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), JsonSerializer.Serialize(config, Json));

    private static ExpertStoreConfig ReadConfig(string path)
    {
        try { return JsonSerializer.Deserialize<ExpertStoreConfig>(File.ReadAllText(path), Json)!; }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        { throw UserError.At(path, $"cannot read the store's options ({e.Message.Split('\n')[0]})",
            "repair or delete store.json (it is rewritten from the command line)"); }
    }

    private static IEnumerable<(string Option, string Stored, string Requested)> Differences(ExpertStoreConfig stored,
        ExpertStoreConfig requested)
    {
        static string Text(object value) => value is bool on ? (on ? "true" : "false")
            : Convert.ToString(value, CultureInfo.InvariantCulture)!;
        var pairs = new (string, object, object)[]
        {
            ("--dataset", stored.Dataset, requested.Dataset),
            ("--arch", stored.Arch, requested.Arch),
            ("--train-epochs", stored.Epochs, requested.Epochs),
            ("--lr-teacher", stored.LearningRate, requested.LearningRate),
            ("--batch-train", stored.BatchSize, requested.BatchSize),
            ("--zca", stored.Zca, requested.Zca),
            ("--seed", stored.Seed, requested.Seed),
            ("training images", stored.TrainImages, requested.TrainImages),
            ("parameter count", stored.ParameterCount, requested.ParameterCount),
            ("DSA strategy", stored.DsaStrategy, requested.DsaStrategy),
        };
        return pairs.Where(p => !Text(p.Item2).Equals(Text(p.Item3), StringComparison.OrdinalIgnoreCase))
            .Select(p => (p.Item1, Text(p.Item2), Text(p.Item3)));
    }

    /// <summary>A finished file must be the expert this store would train at that index (cheap: header only).</summary>
    private static void CheckFinished(string path, ExpertStoreConfig config, int index)
    {
        var m = ExpertFile.ReadMetadata(path);
        bool same = m.ExpertIndex == index && m.Dataset == config.Dataset && m.Arch == config.Arch
            && m.ParameterCount == config.ParameterCount
            && m.Epochs == config.Epochs && m.LearningRate == config.LearningRate && m.BatchSize == config.BatchSize
            && m.Zca == config.Zca && m.Seed == config.Seed;
        if (!same)
            throw UserError.At(path, $"this file holds expert {m.ExpertIndex} of {m.Arch} on {m.Dataset} "
                + $"({m.Epochs} epochs, lr {m.LearningRate}, zca {m.Zca}, seed {m.Seed}), not what this store trains",
                "delete it to retrain that expert");
    }

    /// <summary>
    /// Training and test images as the experts see them: normalised; or, with ZCA, in [0, 1] and whitened
    /// by the store's <c>zca.bin</c> (fitted on the training images the first time).
    /// </summary>
    public static (Tensor Train, Tensor Test) PrepareImages(DataSplit data, bool zca, string directory, Action<string> log)
    {
        if (!zca) return (data.Train.Floats(data.Normalization), data.Test.Floats(data.Normalization));
        var train = data.Train.Floats(Unit(data));
        try
        {
            using var whitening = LoadOrFit(data, directory, log, train);
            WhitenInPlace(whitening, train);
            return (train, Whitened(data.Test, data, whitening, null));
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One split (or its images at <paramref name="indices"/>) as the experts see them, as the pair form gives them: a
    /// caller that needs the test images or a few training images does not whiten all of the training set.
    /// </summary>
    public static Tensor PrepareImages(DataSplit data, Dataset split, bool zca, string directory, Action<string> log,
        Tensor? indices = null)
    {
        if (!zca) return split.Floats(data.Normalization, indices);
        using var whitening = LoadOrFit(data, directory, log, fitOn: null);
        return Whitened(split, data, whitening, indices);
    }

    private static Normalization Unit(DataSplit data)
    {
        var channels = (int)data.Train.Channels;
        return new Normalization(new float[channels], Enumerable.Repeat(1f, channels).ToArray());
    }

    private static Tensor Whitened(Dataset split, DataSplit data, Zca whitening, Tensor? indices)
    {
        var images = split.Floats(Unit(data), indices);
        try
        {
            WhitenInPlace(whitening, images);
            return images;
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The store's whitening; fitted on the training images in [0, 1] (<paramref name="fitOn"/>, or made here) the first time.
    /// </summary>
    private static Zca LoadOrFit(DataSplit data, string directory, Action<string> log, Tensor? fitOn)
    {
        var path = Path.Combine(directory, Zca.FileName);
        Zca whitening;
        if (File.Exists(path)) whitening = Zca.Load(path);
        else if (fitOn is not null) whitening = Fit(fitOn, path, log);
        else
        {
            using var train = data.Train.Floats(Unit(data));
            whitening = Fit(train, path, log);
        }
        if (whitening.Channels != data.Train.Channels || whitening.Height != data.Train.Height || whitening.Width != data.Train.Width)
        {
            whitening.Dispose();
            throw UserError.At(path, $"ZCA fitted on {whitening.Channels}×{whitening.Height}×{whitening.Width} images, "
                + $"the data are {data.Train.Channels}×{data.Train.Height}×{data.Train.Width}",
                "delete it to fit the ZCA again");
        }
        return whitening;
    }

    private static Zca Fit(Tensor images01, string path, Action<string> log)
    {
        log($"fitting ZCA on {images01.shape[0]} training images ...");
        var whitening = Zca.Fit(images01);
        try
        {
            whitening.Save(path);
        }
        catch
        {
            whitening.Dispose();
            throw;
        }
        log($"ZCA saved to {path}");
        return whitening;
    }

    // Chunked and in place: a second full-size copy of CIFAR's training set would double the peak memory.
    private static void WhitenInPlace(Zca whitening, Tensor images)
    {
        using var noGrad = no_grad();
        for (long start = 0; start < images.shape[0]; start += WhitenChunk)
        {
            using var scope = NewDisposeScope();
            var chunk = images.narrow(0, start, Math.Min(WhitenChunk, images.shape[0] - start));
            chunk.copy_(whitening.Whiten(chunk));
        }
    }
}
