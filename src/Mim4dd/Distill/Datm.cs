using Mim4dd.Data;
using Mim4dd.Experts;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>Learned soft labels (DATM's lr_y and Momentum_y): logits per synthetic image, stepped by SGD with momentum on the
/// matching loss.</summary>
public sealed record SoftLabelOptions(double Lr = 2, double Momentum = 0.9)
{
    public void Validate()
    {
        OptionRange.Positive("--lr-y", Lr, "pass e.g. --lr-y 2");
        if (!(Momentum >= 0 && Momentum < 1))
            throw UserError.At("--momentum-y", $"must be in [0, 1), got {Momentum}", "pass e.g. --momentum-y 0.9");
    }
}

/// <summary>
/// DATM's window of start epochs: t ~ U{Min … Upper(i) − 1} at iteration i, where the upper bound grows linearly from
/// <paramref name="Current"/> to T⁺ (<see cref="MttOptions.MaxStartEpoch"/>) over <paramref name="ExpansionIterations"/>
/// iterations; without <paramref name="Current"/> it is T⁺ throughout (DATM's IPC 1 setting).
/// </summary>
public sealed record StartEpochWindow(int Min = 0, int? Current = null, int ExpansionIterations = 0);

/// <summary>
/// Difficulty-Aligned Trajectory Matching (Guo et al., ICLR 2024, "Towards Lossless Dataset Distillation via
/// Difficulty-Aligned Trajectory Matching") on top of MTT's loop (<see cref="Mtt"/>): (1) a window of start epochs whose
/// upper bound grows during distillation, so that a small set first matches the experts' early, easy epochs; (2) soft
/// labels, initialised from the experts' final checkpoints and learned with the images; (3) images started from real
/// images the experts classify correctly; (4) a gate that leaves the set unchanged when the matching loss is above a
/// threshold (a segment the set cannot match yet). What this file holds is those four; the unroll is MTT's.
/// </summary>
public static class Datm
{
    /// <summary>The start epoch's range at <paramref name="iteration"/>: [min, upper).</summary>
    public static (int Min, int Upper) StartRange(MttOptions options, int iteration)
    {
        var window = options.Window;
        int max = options.MaxStartEpoch;
        if (window?.Current is not { } current || window.ExpansionIterations <= 0) return (window?.Min ?? 0, max);
        long grown = current + (long)(max - current) * iteration / window.ExpansionIterations;
        return (window.Min, (int)Math.Min(max, grown));
    }

    /// <summary>Checks the window against T⁺.</summary>
    public static void CheckWindow(StartEpochWindow? window, int maxStartEpoch)
    {
        if (window is null) return;
        if (window.Min < 0 || window.Min >= maxStartEpoch)
            throw UserError.At("--min-start-epoch", $"must be in [0, {maxStartEpoch}) (below --max-start-epoch), got {window.Min}",
                "pass e.g. --min-start-epoch 0");
        if (window.Current is { } c && (c <= window.Min || c > maxStartEpoch))
            throw UserError.At("--current-max-start-epoch", $"must be in ({window.Min}, {maxStartEpoch}], got {c}",
                $"pass e.g. --current-max-start-epoch {Math.Max(window.Min + 1, maxStartEpoch / 2)}");
        if (window.Current is not null && window.ExpansionIterations < 1)
            throw UserError.At("--expansion-iterations",
                $"must be at least 1 with --current-max-start-epoch, got {window.ExpansionIterations}",
                "pass e.g. --expansion-iterations 1000");
    }

    /// <summary>
    /// DATM's start: per class, real images in a random order, kept when the first expert's final checkpoint classifies them
    /// correctly, until IPC are found (the class's first IPC images of the order if too few are classified correctly).
    /// </summary>
    public static Tensor CorrectlyClassified(Net net, ExpertTrajectory expert, Dataset train, Tensor trainImages, int imagesPerClass,
        Generator generator)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weights = FlatParameters.Unflatten(expert.Snapshot(expert.Epochs), net);
        var picks = new List<Tensor>();
        for (int c = 0; c < train.NumClasses; c++)
        {
            var members = train.IndicesOf(c);
            var order = members.index_select(0, randperm(members.shape[0], generator: generator));
            var kept = new List<long>();
            for (long at = 0; at < order.shape[0] && kept.Count < imagesPerClass; at += 256)
            {
                using var chunkScope = NewDisposeScope();
                var chunk = order.narrow(0, at, Math.Min(256, order.shape[0] - at));
                var predicted = net.Forward(weights, trainImages.index_select(0, chunk), training: false).argmax(1).data<long>().ToArray();
                var ids = chunk.data<long>().ToArray();
                kept.AddRange(ids.Where((_, i) => predicted[i] == c).Take(imagesPerClass - kept.Count));
            }
            if (kept.Count < imagesPerClass)
                kept.AddRange(order.data<long>().ToArray().Except(kept).Take(imagesPerClass - kept.Count));
            picks.Add(tensor(kept.ToArray()));
        }
        return cat(picks, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DATM's label start: each image's logits under every expert's final checkpoint, averaged over the experts that classify
    /// it correctly; an image no expert gets right (possible when the images start from random real ones) takes the mean
    /// over all experts. Returns the logits [n, classes] and how many images had no correct expert.
    /// </summary>
    public static (Tensor Logits, int NoCorrectExpert) InitialSoftLabels(Net net, IReadOnlyList<ExpertTrajectory> experts,
        Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = stack(experts.Select(e => net.Forward(FlatParameters.Unflatten(e.Snapshot(e.Epochs), net), images, training: false))
            .ToArray(), 0);   // [experts, n, classes]
        var correct = logits.argmax(2).eq(labels.unsqueeze(0)).to_type(logits.dtype).unsqueeze(2);   // [experts, n, 1]
        var overExperts = new long[] { 0 };   // dimension 0; sum(0) would pick a ScalarType overload and sum everything
        var count = correct.sum(overExperts);   // [n, 1]
        var none = count.LessThan(0.5);
        var averaged = where(none, logits.mean(overExperts), (logits * correct).sum(overExperts) / count.AtLeast(1.0));
        int noCorrect = (int)none.sum().item<long>();
        return (averaged.to_type(ScalarType.Float32).MoveToOuterDisposeScope(), noCorrect);
    }
}
