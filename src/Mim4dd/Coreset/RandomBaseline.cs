using System.Text.Json;
using Mim4dd.Data;
using Mim4dd.Distill;
using Mim4dd.Experts;
using Mim4dd.IO;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Train;
using static TorchSharp.torch;

namespace Mim4dd.Coreset;

/// <summary>
/// The baseline of DD-Ranking's IOR (Li et al., 2025): a random real subset of a distilled set's size, in the set's space
/// (ZCA-whitened or normalised), with its lr and its kind of labels (soft labels from the run's experts, as DATM starts
/// its own), written as RUN/random so that it is evaluated as the set is and `compare` pairs the two.
/// </summary>
public static class RandomBaseline
{
    public const string FolderName = "random";

    /// <summary>Writes RUN/random/syn.safetensors (and config.json) for the set of <paramref name="runDirectory"/>.</summary>
    public static SyntheticSet Write(string runDirectory, SyntheticSet set, DataSplit data, long seed, Action<string> log)
    {
        using var scope = NewDisposeScope();
        var perClass = set.Labels.bincount(null, data.Train.NumClasses).data<long>().ToArray();
        if (perClass.Distinct().Count() != 1)
            throw UserError.At(runDirectory, "the set has different numbers of images per class",
                "a random baseline needs the same count in every class");
        int ipc = (int)perClass[0];
        var indices = CoresetSelection.Random(data.Train, ipc, Rng.Torch(seed, 20));
        var images = set.ZcaDirectory is { } zca
            ? ExpertStore.PrepareImages(data, data.Train, zca: true, zca, log, indices)
            : data.Train.Floats(data.Normalization, indices);
        var labels = data.Train.Labels.index_select(0, indices);
        var soft = set.SoftLabels is null ? null : SoftLabels(runDirectory, data, images, labels, log);
        var directory = new RunDirectory(Path.Combine(runDirectory, FolderName));
        var baseline = new SyntheticSet(images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), set.Dataset,
            set.LearningRate, set.ZcaDirectory, soft?.MoveToOuterDisposeScope());
        Directory.CreateDirectory(directory.Path);
        baseline.Save(directory.Synthetic, data.Normalization);
        directory.WriteJson(directory.Config, new
        {
            Config = new
            {
                Method = "random", set.Dataset, ImagesPerClass = ipc, Labels = Targets.Kind(baseline.TrainingLabels), Seed = seed,
            },
            baselineOf = Path.GetFullPath(runDirectory),
        });
        log($"random baseline: {ipc} real images per class ({Targets.Kind(baseline.TrainingLabels)} labels) in {directory.Path}");
        return baseline;
    }

    /// <summary>The experts' soft labels for the subset, from the store the run distilled with (its config.json).</summary>
    private static Tensor SoftLabels(string runDirectory, DataSplit data, Tensor images, Tensor labels, Action<string> log)
    {
        var config = new RunDirectory(runDirectory).Config;
        string? store = null;
        if (File.Exists(config))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            if (doc.RootElement.TryGetProperty("distill", out var d) && d.TryGetProperty("experts", out var e)) store = e.GetString();
        }
        if (store is null || ExpertStore.Arch(store) is not { } arch)
            throw UserError.At(config, "names no expert store to take soft labels from",
                "keep the run's expert store, or evaluate the baseline with hard labels");
        var net = NetRegistry.Build(arch, new InputShape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.NumClasses);
        var experts = ExpertStore.LoadAll(store, net, data.Name);
        try
        {
            var (logits, noCorrect) = Datm.InitialSoftLabels(net, experts, images, labels);
            log($"random baseline: soft labels from {experts.Count} experts in {store}"
                + (noCorrect > 0 ? $" ({noCorrect} image(s) no expert classifies correctly take all experts' mean)" : ""));
            return logits;
        }
        finally
        {
            foreach (var expert in experts) expert.Dispose();
        }
    }
}
