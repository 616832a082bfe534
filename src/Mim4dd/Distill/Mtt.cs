using System.Diagnostics;
using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using Mim4dd.Experts;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>What one distillation iteration reports to its observer.</summary>
public sealed record IterationMetrics(int Iteration, double Loss, double MatchLoss, double ExtraLoss, double ImageGradNorm,
    double LearningRate, int Expert, int StartEpoch, double Seconds, bool Skipped = false, IReadOnlyDictionary<string, double>? AddOn = null);

/// <summary>Receives progress; logging, evaluation and checkpoints live there, not in the method.</summary>
public interface IDistillObserver
{
    void Iteration(IterationMetrics metrics, DistillState state);
}

/// <summary>
/// Matching Training Trajectories (Cazenavette et al., CVPR 2022), the loop in the paper's order:
/// init the synthetic set from real images, then per iteration pick an expert segment θ*_t → θ*_{t+M},
/// unroll N student steps on the synthetic set, and step images and the student lr on the matching loss.
/// An add-on loss on the final student (MIM) enters through <paramref name="addOn"/>.
/// </summary>
public static class Mtt
{
    /// <summary>The initial state: IPC real images per class (or Gaussian noise), lr = lr_teacher.</summary>
    public static DistillState Initialize(Dataset train, Tensor trainImages, MttOptions options) =>
        ImageUpdate.Start(train, trainImages, options.ImagesPerClass, options.PixInit, options.LrTeacher, options.Seed);

    /// <summary>Runs iterations state.Iteration … options.Iterations−1, updating <paramref name="state"/> in place.</summary>
    public static void Run(Net net, IReadOnlyList<ExpertTrajectory> experts, DistillState state, MttOptions options, string dataset,
        IDistillObserver observer, IAddOn? addOn = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (experts.Count == 0) throw UserError.At("--experts", "no expert trajectories", "run `mim4dd experts` first");
        int epochs = experts.Min(e => e.Epochs);
        // The latest target is epoch (T⁺ − 1) + M, which must exist.
        if (options.MaxStartEpoch - 1 + options.ExpertEpochs > epochs)
            throw UserError.At("--max-start-epoch", $"{options.MaxStartEpoch} − 1 + expert epochs {options.ExpertEpochs} exceeds the {epochs} epochs the experts were trained for",
                $"pass --max-start-epoch {Math.Max(1, epochs - options.ExpertEpochs + 1)} or train longer experts");
        var augment = new Dsa(Dsa.StrategyFor(dataset));
        int batch = options.BatchSyn ?? (int)state.Images.shape[0];
        for (int it = state.Iteration; it < options.Iterations && !cancel.IsCancellationRequested; it++)
        {
            using var scope = NewDisposeScope();   // every temporary of the iteration; state tensors are detached from it
            var clock = Stopwatch.StartNew();
            var (expert, start) = Segment(options, experts.Count, it);
            var target = experts[expert].Snapshot(start + options.ExpertEpochs);
            var unroll = new Unroll(net, experts[expert].Snapshot(start), target,
                state.Images, state.Labels, state.LearningRate, options.SynSteps, batch, augment, (long)Rng.Mix(options.Seed, it));
            Func<Tensor, Tensor>? extra = addOn is null ? null : final => addOn.Loss(final, target, state.Images, state.Labels, it);
            var (grads, diagnostics) = Gradients(options.Unroll, unroll, extra, addOn, it, plainLoss: null);
            using var _ = grads;
            bool stepped = ImageUpdate.Step(state, it, grads.Loss, grads.Images, options.LrImg, addOn, grads.LearningRate, options.LrLr,
                blame: addOn is null ? null : () => BlameTerm(options.Unroll, unroll));
            observer.Iteration(new IterationMetrics(it, grads.Loss, grads.MatchLoss, grads.ExtraLoss, grads.Images.norm().item<float>(),
                state.LearningRate.item<float>(), expert, start, clock.Elapsed.TotalSeconds, Skipped: !stepped, diagnostics), state);
        }
    }

    /// <summary>
    /// The unroll's gradients for <paramref name="loss"/> on the final student (the add-on's term included), split at
    /// the add-on's check iterations into the method's part and the add-on's, with the diagnostics of the iteration.
    /// <paramref name="plainLoss"/> is the loss without the add-on (null: MTT's matching loss alone).
    /// </summary>
    internal static (UnrollGradients Gradients, IReadOnlyDictionary<string, double>? Diagnostics) Gradients(string path, Unroll unroll,
        Func<Tensor, Tensor>? loss, IAddOn? addOn, int iteration, Func<Tensor, Tensor>? plainLoss)
    {
        var grads = TrajectoryMatching.Compute(path, unroll, loss);
        if (addOn is null || !addOn.ChecksGradient(iteration)) return (grads, AddOnSplit.Diagnostics(addOn, null));
        var (split, readings) = GradientSplit(path, unroll, grads, addOn, plainLoss);
        return (split, AddOnSplit.Diagnostics(addOn, readings));
    }

    /// <summary>
    /// The same unroll without the add-on (same batches and augmentations) gives g_DD exactly; g_add-on = g − g_DD.
    /// The add-on may then rescale its part (see <see cref="AddOnSplit"/>). Takes ownership of <paramref name="total"/>.
    /// </summary>
    private static (UnrollGradients Gradients, Dictionary<string, double> Readings) GradientSplit(string path, Unroll unroll,
        UnrollGradients total, IAddOn addOn, Func<Tensor, Tensor>? plainLoss)
    {
        var plain = TrajectoryMatching.Compute(path, unroll, plainLoss);
        using var scope = NewDisposeScope();
        var addOnPart = total.Images.sub(plain.Images);
        var (factor, readings) = AddOnSplit.Rebalance(plain.Images, addOnPart, addOn);
        if (factor == 1)
        {
            plain.Dispose();
            return (total, readings);
        }
        var images = plain.Images.Plus(addOnPart.Times(factor)).MoveToOuterDisposeScope();
        var lr = plain.LearningRate.Plus(total.LearningRate.sub(plain.LearningRate).Times(factor)).MoveToOuterDisposeScope();
        var rebalanced = new UnrollGradients(plain.MatchLoss, plain.ExtraLoss + factor * (total.ExtraLoss - plain.ExtraLoss), images, lr,
            total.FinalParameters.clone().MoveToOuterDisposeScope());
        plain.Dispose();
        total.Dispose();
        return (rebalanced, readings);
    }

    /// <summary>
    /// Which term made a non-finite iteration: the same unroll (same batches and augmentations) without the add-on.
    /// Run only when a run stops, so it costs one unroll once.
    /// </summary>
    private static (string Finding, string Lower) BlameTerm(string path, Unroll unroll)
    {
        using var plain = TrajectoryMatching.Compute(path, unroll);
        return ImageUpdate.NonFinite(plain.Loss, plain.Images, plain.LearningRate) is null
            ? ("; the same unroll without the MIM term is finite, so the MIM term made it", "--mim-balance (or --lambda with --mim-balance 0)")
            : ("; the same unroll without the MIM term is not finite either, so the matching term made it", "--lr-img or --lr-lr");
    }

    /// <summary>The reference's choice per iteration: experts in a shuffled order per pass, start epoch ~ U{0..T⁺−1}.</summary>
    public static (int Expert, int Start) Segment(MttOptions options, int expertCount, int iteration)
    {
        int pass = iteration / expertCount;
        var order = Enumerable.Range(0, expertCount).ToArray();
        Rng.Managed(options.Seed, 500_000 + pass).Shuffle(order);
        return (order[iteration % expertCount], Rng.Managed(options.Seed, 600_000 + iteration).Next(0, options.MaxStartEpoch));
    }
}
