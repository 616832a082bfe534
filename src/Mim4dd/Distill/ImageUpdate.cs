using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>What every method's options record has, each with the method's own default: the set's size and start, the
/// images' lr, the loop's length, the seed. The method checks the rest of its record in <see cref="Validate"/>.</summary>
public interface ISetOptions
{
    int ImagesPerClass { get; }
    int Iterations { get; }
    double LrImg { get; }

    /// <summary>"real" (IPC real images per class) or "noise" (Gaussian); trajectory matching also "correct" (real images
    /// the experts classify correctly, DATM's start).</summary>
    string PixInit { get; }

    long Seed { get; }

    /// <summary>The student lr the state starts with (learned by MTT and BPTT; DM and DC keep it as the evaluation's).</summary>
    double StartLearningRate { get; }

    /// <summary>Throws a <see cref="UserError"/> naming the first option outside its range.</summary>
    void Validate();
}

/// <summary>What every method shares around its own loss: the starting set, and the end of an iteration (the images'
/// momentum step, the learned lr's, the add-on's, and the guard against non-finite gradients).</summary>
public static class ImageUpdate
{
    /// <summary>Every method's --ipc when none is given (the papers' headline setting).</summary>
    public const int DefaultImagesPerClass = 10;

    /// <summary>The checks of <see cref="ISetOptions"/>' shared part, for each record's <see cref="ISetOptions.Validate"/>.</summary>
    public static void Check(ISetOptions options, string? otherInit = null)
    {
        OptionRange.AtLeast("--ipc", options.ImagesPerClass, 1, "pass e.g. --ipc 10");
        OptionRange.AtLeast("--iterations", options.Iterations, 0, "pass e.g. --iterations 1000");
        OptionRange.Positive("--lr-img", options.LrImg, "pass e.g. --lr-img 1");
        if (options.PixInit is not ("real" or "noise") && options.PixInit != otherInit)
            throw UserError.At($"--pix-init {options.PixInit}", "unknown initialisation",
                $"use real{(otherInit is null ? "" : $", {otherInit}")} or noise");
    }

    /// <summary>Creates the initial state: IPC real images per class (or Gaussian noise), the learned lr at its start.</summary>
    /// <param name="pick">Draws the real images' indices from a generator (default: uniformly random per class).</param>
    public static DistillState Start(Dataset train, Tensor trainImages, ISetOptions options, Func<Generator, Tensor>? pick = null)
    {
        using var scope = NewDisposeScope();
        var (seed, lr) = (options.Seed, options.StartLearningRate);
        using var generator = Rng.Torch(seed, 10);
        var indices = pick?.Invoke(generator) ?? CoresetSelection.Random(train, options.ImagesPerClass, generator);
        var labels = train.Labels.index_select(0, indices);
        var images = options.PixInit != "noise"
            ? trainImages.index_select(0, indices).clone()
            : randn(new[] { indices.shape[0], trainImages.shape[1], trainImages.shape[2], trainImages.shape[3] },
                generator: Rng.Torch(seed, 11));
        var rate = tensor(lr, ScalarType.Float32);
        return new DistillState(images.detach().requires_grad_().DetachFromDisposeScope(), labels.DetachFromDisposeScope(),
            rate.DetachFromDisposeScope(), 0);
    }

    /// <summary>Non-finite iterations in a row after which a run stops instead of skipping another one.</summary>
    public const int MaxNonFiniteInARow = 5;

    /// <summary>
    /// The end of every method's iteration: step the images (and the lr, when <paramref name="lrGrad"/> is given) by
    /// SGD with momentum, then the add-on's own parameters, and count the iteration done. A NaN/Inf loss or gradient
    /// skips the update instead (as mixed-precision loss scaling skips an overflowing step): a rare excursion of the
    /// unrolled second-order gradient must not end hours of work, while a run that keeps producing them stops with
    /// its last checkpoint kept. Returns false for a skipped iteration.
    /// </summary>
    /// <param name="blame">Called only when the run stops: which term made the last iteration non-finite and the flags to lower.</param>
    /// <param name="labels">The learned soft labels' gradient and SGD settings (null: the set has hard labels).</param>
    /// <param name="gated">Leave the set as it is (DATM's gate: the matching loss was above its threshold); the add-on still
    /// steps.</param>
    internal static bool Step(DistillState state, int it, double loss, Tensor imageGrad, double lrImg, IAddOn? addOn,
        Tensor? lrGrad = null, double lrLr = 0, Func<(string Finding, string Lower)>? blame = null, LabelStep? labels = null,
        bool gated = false)
    {
        var problem = NonFinite(loss, imageGrad, lrGrad, labels?.Gradient);
        bool finite = problem is null;
        state.NonFiniteInARow = finite ? 0 : state.NonFiniteInARow + 1;
        if (state.NonFiniteInARow >= MaxNonFiniteInARow)
        {
            var (finding, lower) = blame?.Invoke()
                ?? ("", $"--lr-img{(lrGrad is null ? "" : " or --lr-lr")}"
                    + $"{(addOn is null ? "" : " or --mim-balance (--lambda with --mim-balance 0)")}");
            throw new RunFailedException($"iterations {it - MaxNonFiniteInARow + 1}–{it}: "
                + $"{MaxNonFiniteInARow} non-finite iterations in a row, "
                + $"the last because {problem}{finding}; the last checkpoint is kept — "
                + $"lower {lower} and run the same command with --resume");
        }
        if (finite && !gated)
            using (no_grad())
            {
                state.ImageVelocity = MomentumStep(state.Images, imageGrad, state.ImageVelocity, lrImg);
                if (lrGrad is not null)
                    state.LearningRateVelocity = MomentumStep(state.LearningRate, lrGrad, state.LearningRateVelocity, lrLr);
                if (labels is not null)
                    state.SoftLabelVelocity = MomentumStep(state.SoftLabels!, labels.Gradient, state.SoftLabelVelocity, labels.Lr,
                        labels.Momentum);
            }
        addOn?.Step(state);
        state.Iteration = it + 1;
        return finite;
    }

    /// <summary>What is not finite, in words ("the image gradient has 12 of 7840 values NaN/Inf"), or null when all is.</summary>
    internal static string? NonFinite(double loss, Tensor imageGrad, Tensor? lrGrad, Tensor? labelGrad = null)
    {
        var problems = new List<string>();
        if (!double.IsFinite(loss)) problems.Add($"the loss is {loss}");
        using (var bad = imageGrad.isfinite().logical_not().sum())
            if (bad.LongValue() is long count and > 0)
                problems.Add($"the image gradient has {count} of {imageGrad.numel()} values NaN/Inf");
        if (lrGrad is not null && !lrGrad.isfinite().all().item<bool>()) problems.Add("the gradient of the learned lr is NaN/Inf");
        if (labelGrad is not null && !labelGrad.isfinite().all().item<bool>()) problems.Add("the soft labels' gradient is NaN/Inf");
        return problems.Count == 0 ? null : string.Join(" and ", problems);
    }

    /// <summary>SGD with momentum m, 0.5 for images and lr (PyTorch semantics: v = m·v + g, v = g at the first step;
    /// p −= lr·v).</summary>
    internal static Tensor MomentumStep(Tensor parameter, Tensor grad, Tensor? velocity, double lr, double momentum = 0.5)
    {
        velocity = velocity is null ? grad.detach().clone().DetachFromDisposeScope() : velocity.TimesInPlace(momentum).PlusInPlace(grad);
        parameter.PlusInPlace(velocity, -lr);
        return velocity;
    }
}

/// <summary>One SGD step of learned soft labels: their gradient, lr and momentum (DATM: lr_y, Momentum_y 0.9).</summary>
internal sealed record LabelStep(Tensor Gradient, double Lr, double Momentum);
