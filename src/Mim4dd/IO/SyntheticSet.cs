using System.Globalization;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.IO;

/// <summary>
/// A distilled or selected set: images in the dataset's normalised space [N, C, H, W], labels [N], learned soft labels
/// when the method learns them (logits [N, classes], trained on by evaluation), and what it came from. Stored as
/// safetensors (<c>syn.safetensors</c>).
/// </summary>
public sealed class SyntheticSet(Tensor images, Tensor labels, string dataset, double learningRate, string? zcaDirectory = null,
    Tensor? softLabels = null) : IDisposable
{
    /// <summary>Where the ZCA whitening the images live in is stored (zca.bin); null = mean/std-normalised space.</summary>
    public string? ZcaDirectory { get; } = zcaDirectory;

    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;

    /// <summary>Learned soft labels (logits [N, classes]); null for a hard-label set.</summary>
    public Tensor? SoftLabels { get; } = softLabels;

    /// <summary>What evaluation trains with: the soft labels when the set has them.</summary>
    public Tensor TrainingLabels => SoftLabels ?? Labels;
    public string Dataset { get; } = dataset;

    /// <summary>The lr evaluation nets train with (MTT learns it; 0.01 for everything else).</summary>
    public double LearningRate { get; } = learningRate;

    /// <summary>
    /// Writes <paramref name="path"/> (safetensors) and beside it the same arrays as numpy <c>.npz</c> (x, y, lr, and
    /// y_soft for soft labels), as a PyTorch <c>.pt</c> (images, labels, lr, soft_labels) and <c>grid.png</c> (de-normalised
    /// with <paramref name="normalization"/> when the images live in that space).
    /// </summary>
    public void Save(string path, Normalization? normalization = null)
    {
        SaveSafeTensors(path);
        SaveNpz(Path.ChangeExtension(path, ".npz"));
        using var lr = tensor((float)LearningRate);
        PtExport.Save(Path.ChangeExtension(path, ".pt"), WithSoft(
            new Dictionary<string, Tensor> { ["images"] = Images, ["labels"] = Labels, ["lr"] = lr }, "soft_labels"));
        int classes = Labels.numel() == 0 ? 0 : (int)Labels.max().item<long>() + 1;
        ImageGrid.Save(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, GridFileName), Images, Labels, classes,
            ZcaDirectory is null ? normalization : null);
    }

    /// <summary>The images as pixels in [0, 1] (not clamped): un-whitened with the set's zca.bin, or de-normalised with
    /// <paramref name="normalization"/>.</summary>
    public Tensor Pixels(Normalization? normalization)
    {
        if (ZcaDirectory is not null)
        {
            using var zca = Zca.Load(Path.Combine(ZcaDirectory, Zca.FileName));
            return zca.Unwhiten(Images.detach());
        }
        if (normalization is null)
            throw UserError.At(Dataset, "the dataset's mean/std is not known, so the images cannot be turned back into pixels",
                "export --format mtt or npz instead");
        return normalization.Undo(Images.detach());
    }

    /// <summary>
    /// The images in the space of a network trained on <paramref name="zcaDirectory"/>'s whitening (null: on
    /// mean/std-normalised images), by way of pixels: one feature network then reads the sets of every method of a
    /// dataset, a DM set (pixels) as an MTT set (ZCA).
    /// </summary>
    public Tensor InSpaceOf(string? zcaDirectory, Normalization normalization)
    {
        static string? Full(string? directory) => directory is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (Full(zcaDirectory) == Full(ZcaDirectory)) return Images.detach().clone();
        using var pixels = Pixels(normalization);
        if (zcaDirectory is null) return normalization.Apply(pixels);
        using var zca = Zca.Load(Path.Combine(zcaDirectory, Zca.FileName));
        return zca.Whiten(pixels);
    }

    /// <summary>The set as numpy <c>.npz</c>: x (images), y (labels), lr (float64 [1]).</summary>
    public void SaveNpz(string path)
    {
        using var lr64 = tensor(new[] { LearningRate });
        NpzWriter.Save(path, WithSoft(new Dictionary<string, Tensor> { ["x"] = Images, ["y"] = Labels, ["lr"] = lr64 }, "y_soft"));
    }

    private Dictionary<string, Tensor> WithSoft(Dictionary<string, Tensor> tensors, string name)
    {
        if (SoftLabels is not null) tensors[name] = SoftLabels;
        return tensors;
    }

    public const string GridFileName = "grid.png";

    private void SaveSafeTensors(string path) => SafeTensors.Save(path,
        WithSoft(new Dictionary<string, Tensor> { ["images"] = Images, ["labels"] = Labels }, "soft_labels"),
        new Dictionary<string, string>
        {
            ["dataset"] = Dataset,
            ["learning_rate"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["space"] = ZcaDirectory is null ? "normalized" : "zca",
            ["zca_directory"] = ZcaDirectory ?? "",
        });

    public static SyntheticSet Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Load(path);
        const string fix = "pass a syn.safetensors written by mim4dd";
        if (!tensors.TryGetValue("images", out var images) || !tensors.TryGetValue("labels", out var labels))
            throw UserError.At(path, "missing the tensors 'images' and 'labels'", fix);
        if (images.dim() != 4 || images.dtype != ScalarType.Float32)
            throw UserError.At(path, $"images must be float32 [N, C, H, W], got {images.dtype} with {images.dim()} dimensions", fix);
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0] || labels.dtype != ScalarType.Int64)
            throw UserError.At(path, $"labels must be int64 [{images.shape[0]}]", fix);
        var soft = tensors.GetValueOrDefault("soft_labels");
        if (soft is not null && (soft.dim() != 2 || soft.shape[0] != images.shape[0] || soft.dtype != ScalarType.Float32
            || !soft.isfinite().all().item<bool>()))
            throw UserError.At(path, $"soft_labels must be finite float32 [{images.shape[0]}, classes]", fix);
        if (!metadata.TryGetValue("dataset", out var dataset))
            throw UserError.At(path, "no 'dataset' in the metadata", fix);
        var lr = metadata.TryGetValue("learning_rate", out var text)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : Train.EvalProtocol.DefaultLearningRate;
        if (!double.IsFinite(lr) || lr <= 0) throw UserError.At(path, $"learning_rate {text} is not a positive number", fix);
        if (!images.isfinite().all().item<bool>()) throw UserError.At(path, "images contain NaN or Inf", fix);
        var zca = metadata.GetValueOrDefault("space") == "zca" ? metadata.GetValueOrDefault("zca_directory") : null;
        if (zca is not null && !File.Exists(Path.Combine(zca, Zca.FileName)))
            throw UserError.At(path, $"the images are ZCA-whitened but {Path.Combine(zca, Zca.FileName)} is missing",
                "keep the expert store the set was distilled from");
        return new SyntheticSet(images, labels, dataset, lr, zca, soft);
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        SoftLabels?.Dispose();
    }
}
