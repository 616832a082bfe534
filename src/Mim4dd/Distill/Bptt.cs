using System.Diagnostics;
using Mim4dd.Augment;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Distill;

/// <summary>BPTT's hyper-parameters: the unroll as MTT's student (N steps of SGD at a learned lr), a real batch for the loss.</summary>
public sealed record BpttOptions : ISetOptions
{
    public int ImagesPerClass { get; init; } = ImageUpdate.DefaultImagesPerClass;

    /// <summary>Student steps N unrolled from a fresh initialisation.</summary>
    public int SynSteps { get; init; } = 20;

    public double LrImg { get; init; } = 10;
    public double LrLr { get; init; } = 1e-5;

    /// <summary>The student's initial lr (learned).</summary>
    public double LrInit { get; init; } = 0.01;

    public int? BatchSyn { get; init; }

    /// <summary>Real images per class in the loss on the final student.</summary>
    public int BatchReal { get; init; } = 32;

    public int Iterations { get; init; } = 2000;
    public string PixInit { get; init; } = "real";
    public string Unroll { get; init; } = "reverse";
    public long Seed { get; init; }

    double ISetOptions.StartLearningRate => LrInit;

    public void Validate()
    {
        ImageUpdate.Check(this);
        TrajectoryMatching.CheckStudent(SynSteps, BatchSyn, LrLr, LrInit, Unroll);
        OptionRange.AtLeast("--batch-real", BatchReal, 1, "pass e.g. --batch-real 32");
    }

    /// <summary>The defaults with the flags given (--lr-teacher sets the student's initial lr).</summary>
    public static BpttOptions From(IGivenFlags flags)
    {
        var d = new BpttOptions();
        return d with
        {
            ImagesPerClass = flags.Value<int>("ipc") ?? d.ImagesPerClass, SynSteps = flags.Value<int>("syn-steps") ?? d.SynSteps,
            LrImg = flags.Value<double>("lr-img") ?? d.LrImg, LrLr = flags.Value<double>("lr-lr") ?? d.LrLr,
            LrInit = flags.Value<double>("lr-teacher") ?? d.LrInit, BatchSyn = flags.Value<int>("batch-syn") ?? d.BatchSyn,
            BatchReal = flags.Value<int>("batch-real") ?? d.BatchReal, Iterations = flags.Value<int>("iterations") ?? d.Iterations,
            PixInit = flags.Text("pix-init") ?? d.PixInit, Unroll = flags.Text("unroll") ?? d.Unroll,
            Seed = flags.Value<long>("seed") ?? d.Seed,
        };
    }
}

/// <summary>
/// Back-propagation through time: each iteration unrolls N SGD steps of a freshly initialised network on the
/// synthetic set (DSA on every step, as MTT's student), takes the cross-entropy of the final network on a real
/// batch, and moves the images and the student lr along its gradient. The gradient goes through every step by the
/// same exact constant-memory reverse unroll as MTT (<see cref="TrajectoryMatching.Reverse"/> with no target).
/// An add-on (MIM) sees the final student on both sides: there is no expert.
/// </summary>
public static class Bptt
{
    public static DistillState Initialize(Dataset train, Tensor trainImages, BpttOptions options) =>
        ImageUpdate.Start(train, trainImages, options);

    public static void Run(Net net, Dataset train, Tensor trainImages, DistillState state, BpttOptions options, string dataset,
        IDistillObserver observer, IAddOn? addOn = null, CancellationToken stop = default)
    {
        options.Validate();
        var augment = new Dsa(Dsa.StrategyFor(dataset));
        int batch = options.BatchSyn ?? (int)state.Images.shape[0];
        for (int it = state.Iteration; it < options.Iterations && !stop.IsCancellationRequested; it++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            Tensor start;
            using (var weights = net.Initialize(Rng.Torch(options.Seed, 1_000_000 + it)))
                start = FlatParameters.Flatten(weights.Parameters).detach().clone();
            var unroll = new Unroll(net, start, null, state.Images, state.Labels, state.LearningRate, options.SynSteps, batch, augment,
                (long)Rng.Mix(options.Seed, it));
            var realIndices = CoresetSelection.Random(train, options.BatchReal, Rng.Torch(options.Seed, 2_000_000 + it));
            var real = trainImages.index_select(0, realIndices);
            var realLabels = train.Labels.index_select(0, realIndices);
            double realLoss = 0;
            Tensor RealLoss(Tensor final)
            {
                var ce = F.cross_entropy(net.Forward(FlatParameters.Unflatten(final, net), real), realLabels);
                realLoss = ce.Value();
                return ce;
            }
            Tensor Loss(Tensor final) => addOn is null ? RealLoss(final)
                : RealLoss(final).Plus(addOn.Loss(final, final.detach(), state.Images, state.Labels, it));
            var (grads, diagnostics) = Mtt.Gradients(options.Unroll, unroll, Loss, addOn, it, RealLoss);
            using var _ = grads;
            bool stepped = ImageUpdate.Step(state, it, grads.Loss, grads.Images, options.LrImg, addOn, grads.LearningRate, options.LrLr);
            observer.Iteration(new IterationMetrics(it, grads.Loss, realLoss, grads.Loss - realLoss, grads.Images.norm().item<float>(),
                state.LearningRate.item<float>(), -1, -1, clock.Elapsed.TotalSeconds, Skipped: !stepped, diagnostics), state);
        }
    }
}

/// <summary>BPTT (optionally + λ·MIM) on one dataset as an <see cref="IDistillMethod"/>.</summary>
public sealed class BpttMethod(DataSplit data, BpttOptions options, MimOptions mim, int mimRealPerClass, object? machine = null,
    string arch = DistillMethods.DefaultArch)
    : ExpertFreeMethod("bptt", data, options, options.BatchReal, mim, mimRealPerClass, options with { Iterations = 0 }, machine, arch)
{
    public override DistillState Initialize() => Bptt.Initialize(Data.Train, Train, options);
    public override void Run(DistillState state, IDistillObserver observer, CancellationToken stop) =>
        Bptt.Run(Net, Data.Train, Train, state, options, Data.Name, observer, AddOn, stop);
}
