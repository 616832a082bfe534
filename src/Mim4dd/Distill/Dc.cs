using System.Diagnostics;
using Mim4dd.Augment;
using Mim4dd.Coreset;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using Mim4dd.Train;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Distill;

/// <summary>DC's and DSA's hyper-parameters (the DC/DSA public code's defaults).</summary>
public sealed record DcOptions : ISetOptions
{
    public int ImagesPerClass { get; init; } = ImageUpdate.DefaultImagesPerClass;
    public int Iterations { get; init; } = 1000;

    /// <summary>SGD lr of the images (momentum 0.5).</summary>
    public double LrImg { get; init; } = 0.1;

    /// <summary>SGD lr (no momentum) of the network trained on the synthetic set between outer steps.</summary>
    public double LrNet { get; init; } = 0.01;

    public int BatchReal { get; init; } = 256;
    public int BatchTrain { get; init; } = 256;

    /// <summary>DC starts from Gaussian noise; the DSA README runs start from real images.</summary>
    public string PixInit { get; init; } = "noise";

    /// <summary>True: DSA (siamese DSA on both gradient sides, DSA while training the inner network).</summary>
    public bool Siamese { get; init; }

    /// <summary>DSA's defaults: DC's, siamese, from real images.</summary>
    public static DcOptions Dsa => new() { Siamese = true, PixInit = "real" };

    public long Seed { get; init; }

    /// <summary>(outer, inner) loop counts by IPC, as the reference fixes them.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public (int Outer, int Inner) Loops => ImagesPerClass switch
    {
        1 => (1, 1), 10 => (10, 50), 20 => (20, 25), 30 => (30, 20), 40 => (40, 15), 50 => (50, 10),
        _ => throw UserError.At("--ipc", $"DC/DSA define their loops for IPC 1, 10, 20, 30, 40, 50 only, got {ImagesPerClass}",
            "pass one of those"),
    };

    double ISetOptions.StartLearningRate => EvalProtocol.DefaultLearningRate;

    public void Validate()
    {
        ImageUpdate.Check(this);
        _ = Loops;
        OptionRange.Positive("--lr-net", LrNet, "pass e.g. --lr-net 0.01");
        OptionRange.AtLeast("--batch-real", BatchReal, 1, "pass e.g. --batch-real 256");
        OptionRange.AtLeast("--batch-train", BatchTrain, 1, "pass e.g. --batch-train 256");
    }

    /// <summary>DC's (or with <paramref name="siamese"/> DSA's) defaults with the flags given.</summary>
    public static DcOptions From(IGivenFlags flags, bool siamese)
    {
        var d = siamese ? Dsa : new DcOptions();
        return d with
        {
            ImagesPerClass = flags.Value<int>("ipc") ?? d.ImagesPerClass, Iterations = flags.Value<int>("iterations") ?? d.Iterations,
            LrImg = flags.Value<double>("lr-img") ?? d.LrImg, LrNet = flags.Value<double>("lr-net") ?? d.LrNet,
            BatchReal = flags.Value<int>("batch-real") ?? d.BatchReal, PixInit = flags.Text("pix-init") ?? d.PixInit,
            Seed = flags.Value<long>("seed") ?? d.Seed,
        };
    }
}

/// <summary>
/// Dataset Condensation with gradient matching (Zhao et al., ICLR 2021) and, with <see cref="DcOptions.Siamese"/>,
/// its DSA version (Zhao &amp; Bilen, ICML 2021). Each iteration draws a fresh network; for each of the outer
/// steps the images move so that, class by class, the gradient of the loss on the synthetic images matches the
/// gradient on a real batch (layer-wise distance <see cref="Distance"/>); between outer steps the network trains
/// on the synthetic set for the inner-loop epochs.
/// </summary>
public static class Dc
{
    public static DistillState Initialize(Dataset train, Tensor trainImages, DcOptions options) =>
        ImageUpdate.Start(train, trainImages, options);

    /// <param name="addOn">MIM (or another term) on the network being matched, added at every outer step (its draws
    /// follow the outer-step count).</param>
    public static void Run(Net net, Dataset train, Tensor trainImages, DistillState state, DcOptions options, string dataset,
        IDistillObserver observer, IAddOn? addOn = null, CancellationToken stop = default)
    {
        options.Validate();
        if (net.HasBatchNorm)
            throw UserError.At($"--arch {net.Name}", "DC/DSA with batch-norm networks are not supported", "use ConvNet (instance norm)");
        var (outer, inner) = options.Loops;
        var augment = options.Siamese ? new Dsa(Dsa.StrategyFor(dataset)) : null;
        int classes = train.NumClasses;
        var innerTraining = new TrainOptions { Epochs = inner, LearningRate = options.LrNet, Momentum = 0, WeightDecay = 0,
            BatchSize = options.BatchTrain, DecayAfterEpoch = -1 };
        var synIndices = Enumerable.Range(0, classes)
            .Select(c => state.Labels.EqualTo(c).nonzero().view(-1).DetachFromDisposeScope()).ToList();
        for (int it = state.Iteration; it < options.Iterations && !stop.IsCancellationRequested; it++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            using var weights = net.Initialize(Rng.Torch(options.Seed, 1_000_000 + it));
            double lossSum = 0, extraSum = 0, gradNorm = 0;
            Dictionary<string, double>? readings = null;   // the last split of the iteration's outer steps
            bool skipped = false;
            for (int step = 0; step < outer; step++)
            {
                using var stepScope = NewDisposeScope();
                long stream = (long)it * outer + step;
                var realIndices = CoresetSelection.Random(train, options.BatchReal, Rng.Torch(options.Seed, 2_000_000_000 + stream));
                var real = trainImages.index_select(0, realIndices);   // class by class, BatchReal each
                Tensor? loss = null;
                for (int c = 0; c < classes; c++)
                {
                    long seed = (long)Rng.Mix(options.Seed, 3_000_000_000 + stream * classes + c);
                    var realC = real.narrow(0, (long)c * options.BatchReal, options.BatchReal);
                    var synC = state.Images.index_select(0, synIndices[c]);
                    if (augment is not null) { realC = augment.ApplySiamese(realC, seed); synC = augment.ApplySiamese(synC, seed); }
                    var realGrads = RealGradients(net, weights.Parameters, realC, c);
                    var synTarget = Scalars.Full(new long[] { synC.shape[0] }, c, ScalarType.Int64);
                    var synGrads = autograd.grad(new[] { F.cross_entropy(net.Forward(weights.Parameters, synC), synTarget) },
                        weights.Parameters, retain_graph: true, create_graph: true);
                    var distance = Distance(realGrads, synGrads.ToList());
                    loss = loss is null ? distance : loss.Plus(distance);
                }
                var term = addOn?.Loss(Dm.Flat(weights.Parameters), Dm.Flat(weights.Parameters), state.Images, state.Labels, (int)stream);
                var (grad, factor, split) = AddOnSplit.Gradient(loss!, term, state.Images, addOn, (int)stream);
                double matchValue = loss!.Value(), termValue = term is null ? 0 : factor * term.Value();
                readings = split ?? readings;
                skipped |= !ImageUpdate.Step(state, it, matchValue + termValue, grad, options.LrImg, addOn);
                lossSum += matchValue;
                extraSum += termValue;
                gradNorm = grad.norm().Value();
                if (step == outer - 1) break;
                Trainer.Train(net, weights, state.Images.detach(), state.Labels, innerTraining,
                    Rng.Torch(options.Seed, 4_000_000_000 + stream), augment);
            }
            double meanMatch = lossSum / (outer * classes), meanExtra = extraSum / outer;   // the match as the reference logs it
            observer.Iteration(new IterationMetrics(it, meanMatch + meanExtra, meanMatch, meanExtra, gradNorm,
                EvalProtocol.DefaultLearningRate, -1, -1, clock.Elapsed.TotalSeconds, Skipped: skipped,
                AddOnSplit.Diagnostics(addOn, readings)), state);
        }
        foreach (var index in synIndices) index.Dispose();
    }

    /// <summary>The gradient of the loss on one class's real batch. Its own dispose scope frees the batch's activations
    /// (BatchReal images: 256 × 128 × H × W floats per layer) now; in the outer step's scope every class's stayed alive to the
    /// step's end, 14 GB at MNIST IPC 10.</summary>
    private static List<Tensor> RealGradients(Net net, List<Tensor> parameters, Tensor images, int label)
    {
        using var scope = NewDisposeScope();
        var target = Scalars.Full(new long[] { images.shape[0] }, label, ScalarType.Int64);
        return autograd.grad(new[] { F.cross_entropy(net.Forward(parameters, images), target) }, parameters)
            .Select(g => g.detach().MoveToOuterDisposeScope()).ToList();
    }

    /// <summary>
    /// DC's layer-wise gradient distance ('ours'): for every weight tensor, Σ over output rows of
    /// 1 − cos(g_real, g_syn) (conv weights flattened per output channel, 3-D tensors per first axis);
    /// 1-D tensors (biases, norm scales and shifts) contribute nothing.
    /// </summary>
    public static Tensor Distance(IReadOnlyList<Tensor> real, IReadOnlyList<Tensor> synthetic)
    {
        if (real.Count != synthetic.Count)
            throw new ArgumentException($"got {real.Count} real and {synthetic.Count} synthetic gradients");
        Tensor? total = null;
        for (int i = 0; i < real.Count; i++)
        {
            if (real[i].dim() <= 1) continue;
            var r = real[i].reshape(real[i].shape[0], -1);
            var s = synthetic[i].reshape(synthetic[i].shape[0], -1);
            var cosine = (r * s).sum(1).div(r.norm(1).mul(s.norm(1)).Plus(1e-6));
            var term = cosine.neg().Plus(1).sum();
            total = total is null ? term : total.Plus(term);
        }
        return total ?? throw new ArgumentException("no gradient tensor has two or more axes; DC's distance needs weight tensors");
    }
}

/// <summary>DC or DSA on one dataset as an <see cref="IDistillMethod"/>.</summary>
public sealed class DcMethod(DataSplit data, DcOptions options, MimOptions mim, int mimRealPerClass, object? machine = null,
    string arch = DistillMethods.DefaultArch)
    : ExpertFreeMethod(options.Siamese ? "dsa" : "dc", data, options, options.BatchReal, mim, mimRealPerClass,
        options with { Iterations = 0 }, machine, arch)
{
    public override DistillState Initialize() => Dc.Initialize(Data.Train, Train, options);
    public override void Run(DistillState state, IDistillObserver observer, CancellationToken stop) =>
        Dc.Run(Net, Data.Train, Train, state, options, Data.Name, observer, AddOn, stop);
}
