using System.Globalization;
using Mim4dd.IO;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Runs;

/// <summary>
/// Everything a distillation needs to continue exactly where it stopped: the synthetic images, the learned
/// student lr, both optimisers' momentum buffers, extra trained tensors (e.g. MIM heads) and the next
/// iteration. All randomness is derived from (seed, iteration), so no generator state is stored.
/// </summary>
public sealed class DistillState(Tensor images, Tensor labels, Tensor learningRate, int iteration) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public Tensor LearningRate { get; } = learningRate;
    public Tensor? ImageVelocity { get; set; }
    public Tensor? LearningRateVelocity { get; set; }
    public Dictionary<string, Tensor> Extra { get; } = new();

    /// <summary>Learned soft labels (logits [n, classes], a leaf that requires grad) and their momentum buffer; null for a set
    /// that trains on its hard <see cref="Labels"/>.</summary>
    public Tensor? SoftLabels { get; set; }

    public Tensor? SoftLabelVelocity { get; set; }

    /// <summary>What the set trains with: the soft labels when it learns them, else the class indices.</summary>
    public Tensor TrainingLabels => SoftLabels ?? Labels;
    public int Iteration { get; set; } = iteration;

    /// <summary>Iterations in a row whose gradient was NaN/Inf and skipped (not checkpointed: it only decides when a run gives
    /// up).</summary>
    public int NonFiniteInARow { get; set; }

    public void Save(string path, string configHash)
    {
        var tensors = new Dictionary<string, Tensor> { ["images"] = Images, ["labels"] = Labels, ["learning_rate"] = LearningRate };
        if (ImageVelocity is not null) tensors["image_velocity"] = ImageVelocity;
        if (LearningRateVelocity is not null) tensors["lr_velocity"] = LearningRateVelocity;
        if (SoftLabels is not null) tensors["soft_labels"] = SoftLabels;
        if (SoftLabelVelocity is not null) tensors["soft_label_velocity"] = SoftLabelVelocity;
        foreach (var (name, t) in Extra) tensors[$"extra.{name}"] = t;
        SafeTensors.Save(path, tensors, new Dictionary<string, string>
        {
            ["iteration"] = Iteration.ToString(CultureInfo.InvariantCulture),
            ["config_hash"] = configHash,
        });
    }

    /// <param name="force">Accept a checkpoint written with other options (the caller checks that the shapes still fit).</param>
    public static DistillState Load(string path, string configHash, bool force = false)
    {
        var (tensors, metadata) = SafeTensors.Load(path);
        const string fix = "delete the run directory to start again, or pass the options it was started with";
        if (!force && (!metadata.TryGetValue("config_hash", out var hash) || hash != configHash))
            throw UserError.At(path, "checkpoint was written with different options", fix + " (--force continues with the new ones)");
        if (!metadata.TryGetValue("iteration", out var text) || !int.TryParse(text, CultureInfo.InvariantCulture, out var iteration)
            || iteration < 0)
            throw UserError.At(path, "checkpoint has no valid iteration", fix);
        Tensor Need(string name) => tensors.TryGetValue(name, out var t) ? t : throw UserError.At(path, $"checkpoint lacks '{name}'", fix);
        var state = new DistillState(Need("images").requires_grad_(), Need("labels"), Need("learning_rate"), iteration)
        {
            ImageVelocity = tensors.GetValueOrDefault("image_velocity"),
            LearningRateVelocity = tensors.GetValueOrDefault("lr_velocity"),
            SoftLabels = tensors.GetValueOrDefault("soft_labels")?.requires_grad_(),
            SoftLabelVelocity = tensors.GetValueOrDefault("soft_label_velocity"),
        };
        foreach (var (name, t) in tensors.Where(kv => kv.Key.StartsWith("extra.")))
            state.Extra[name["extra.".Length..]] = t;
        return state;
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        LearningRate.Dispose();
        ImageVelocity?.Dispose();
        LearningRateVelocity?.Dispose();
        SoftLabels?.Dispose();
        SoftLabelVelocity?.Dispose();
        foreach (var t in Extra.Values) t.Dispose();
    }
}
