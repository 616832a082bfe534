using System.CommandLine;
using Mim4dd.Data;
using Mim4dd.Experts;
using Mim4dd.IO;
using Mim4dd.Runs;

namespace Mim4dd.Cli;

/// <summary>
/// The SET of `eval` and `mi`: ours (a run directory or a .safetensors mim4dd wrote), or another tool's (<see cref="SetImport"/>:
/// an MTT/DATM folder, a .pt dict or a .npz), which names neither its dataset nor its space, so it is read in those of an
/// expert store given with --experts.
/// </summary>
public static class SetArgument
{
    public static Argument<string> Create() => new("set")
    {
        Description = "A run directory (with syn.safetensors), a .safetensors synthetic set, or another tool's set (with --experts, "
            + "in that store's dataset and space): a folder with images_best.pt and labels_best.pt (MTT, DATM), a .pt dict or a .npz",
    };

    /// <summary>The set at <paramref name="path"/>; <paramref name="ours"/> when mim4dd wrote it (a run directory keeps
    /// what commands write beside it; another tool's folder is left as it is).</summary>
    public static SyntheticSet Read(string path, string? experts, out bool ours)
    {
        var file = Directory.Exists(path) ? new RunDirectory(path).Synthetic : path;
        ours = File.Exists(file) && file.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        if (ours) return SyntheticSet.Load(file);
        Cli.Require(SetImport.Handles(path), path, "synthetic set not found",
            "pass a run directory written by mim4dd, a .safetensors, .pt or .npz set, or a folder with images_best.pt");
        Cli.Require(experts is not null, path, "a set from another tool names neither its dataset nor its space",
            "pass --experts STORE: the set is read as the store's dataset, in its space (ZCA or normalised pixels)");
        var store = Path.GetFullPath(experts!);
        var metadata = ExpertStore.FirstMetadata(store);
        Cli.Require(metadata is not null, store, "holds no expert files", "pass a store written by `mim4dd experts`");
        var set = SetImport.Load(path, metadata!.Dataset, metadata.Zca ? store : null, out bool labelsFromLogits);
        Cli.Log($"read {path}: {set.Images.shape[0]} images of {set.Dataset}, taken to be in the store's "
            + $"{(metadata.Zca ? "ZCA" : "normalised pixel")} space"
            + (labelsFromLogits ? "; its labels are logits: each image's class is their argmax" : ""));
        return set;
    }

    /// <summary>Refuses a set whose images or labels are not those of <paramref name="data"/> (another tool's set read with
    /// the wrong store, or a set passed with the wrong --data-dir).</summary>
    public static void RequireFits(SyntheticSet set, DataSplit data, string path)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var train = data.Train;
        const string fix = "pass the dataset the set was made from (for another tool's set: its expert store)";
        Cli.Require(set.Images.shape.Skip(1).SequenceEqual(new[] { train.Channels, train.Height, train.Width }), path,
            $"images are [{string.Join(", ", set.Images.shape.Skip(1))}] but {data.Name} has "
                + $"{train.Channels}×{train.Height}×{train.Width}", fix);
        long classes = train.NumClasses;
        Cli.Require(set.Labels.min().item<long>() >= 0 && set.Labels.max().item<long>() < classes
            && (set.SoftLabels is null || set.SoftLabels.shape[1] == classes), path,
            $"labels outside {data.Name}'s {classes} classes", fix);
    }
}
