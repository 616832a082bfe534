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

namespace Mim4dd.Distill;

/// <summary>DM's hyper-parameters (Zhao &amp; Bilen, WACV 2023, §4 and the public code's defaults).</summary>
public sealed record DmOptions : ISetOptions
{
    public int ImagesPerClass { get; init; } = ImageUpdate.DefaultImagesPerClass;
    public int Iterations { get; init; } = 20000;

    /// <summary>SGD lr of the images (momentum 0.5), the paper's 1.0.</summary>
    public double LrImg { get; init; } = 1.0;

    /// <summary>Real images per class per iteration, the paper's 256.</summary>
    public int BatchReal { get; init; } = 256;

    public string PixInit { get; init; } = "real";
    public long Seed { get; init; }

    double ISetOptions.StartLearningRate => EvalProtocol.DefaultLearningRate;

    public void Validate()
    {
        ImageUpdate.Check(this);
        OptionRange.AtLeast("--batch-real", BatchReal, 1, "pass e.g. --batch-real 256");
    }

    /// <summary>The defaults with the flags given.</summary>
    public static DmOptions From(IGivenFlags flags)
    {
        var d = new DmOptions();
        return d with
        {
            ImagesPerClass = flags.Value<int>("ipc") ?? d.ImagesPerClass, Iterations = flags.Value<int>("iterations") ?? d.Iterations,
            LrImg = flags.Value<double>("lr-img") ?? d.LrImg, BatchReal = flags.Value<int>("batch-real") ?? d.BatchReal,
            PixInit = flags.Text("pix-init") ?? d.PixInit, Seed = flags.Value<long>("seed") ?? d.Seed,
        };
    }
}

/// <summary>
/// Distribution Matching: each iteration draws a freshly initialised network and moves the synthetic images so
/// that, class by class, the mean embedding of (augmented) synthetic images equals that of a real batch:
/// L = Σ_c ‖mean φ(A_c(real_c)) − mean φ(A_c(syn_c))‖², with the same augmentation A_c on both sides.
/// </summary>
public static class Dm
{
    public static DistillState Initialize(Dataset train, Tensor trainImages, DmOptions options) =>
        ImageUpdate.Start(train, trainImages, options);

    /// <param name="addOn">MIM (or another term) on the iteration's random network: its flat parameters are both the
    /// student and the real-side network.</param>
    public static void Run(Net net, Dataset train, Tensor trainImages, DistillState state, DmOptions options, string dataset,
        IDistillObserver observer, IAddOn? addOn = null, CancellationToken stop = default)
    {
        options.Validate();
        var augment = new Dsa(Dsa.StrategyFor(dataset));
        int classes = train.NumClasses;
        for (int it = state.Iteration; it < options.Iterations && !stop.IsCancellationRequested; it++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            using var weights = net.Initialize(Rng.Torch(options.Seed, 1_000_000 + it));
            var parameters = weights.Parameters.Select(p => p.detach()).ToList();
            var realIndices = CoresetSelection.Random(train, options.BatchReal, Rng.Torch(options.Seed, 2_000_000 + it));
            var real = trainImages.index_select(0, realIndices);   // class by class, BatchReal each
            // One augmentation per class, shared by that class's real and synthetic images (DM's siamese DSA).
            // The real side runs class by class, each in its own dispose scope: one forward over all classes' real
            // batches, or the iteration's scope keeping every class's activations, holds C × 256 × 128 × H × W floats
            // per layer (7.4 GB at MNIST IPC 10, measured) and runs several times slower.
            var realMeans = new List<Tensor>();
            var synAugmented = new List<Tensor>();
            for (int c = 0; c < classes; c++)
            {
                long seed = (long)Rng.Mix(options.Seed, 3_000_000 + (long)it * classes + c);
                using (no_grad())
                using (NewDisposeScope())
                    realMeans.Add(net.Embed(parameters, augment.ApplySiamese(real.narrow(0, (long)c * options.BatchReal, options.BatchReal),
                        seed)).mean(new long[] { 0 }).MoveToOuterDisposeScope());
                synAugmented.Add(augment.ApplySiamese(state.Images.index_select(0, state.Labels.EqualTo(c).nonzero().view(-1)), seed));
            }
            var synEmbedding = net.Embed(parameters, cat(synAugmented, 0));
            var matchLoss = ClassMeans(synEmbedding, options.ImagesPerClass, classes).sub(stack(realMeans)).Power(2).sum();
            var term = addOn?.Loss(Flat(parameters), Flat(parameters), state.Images, state.Labels, it);
            var (grad, factor, readings) = AddOnSplit.Gradient(matchLoss, term, state.Images, addOn, it);
            double matchValue = matchLoss.Value(), termValue = term is null ? 0 : factor * term.Value();
            bool stepped = ImageUpdate.Step(state, it, matchValue + termValue, grad, options.LrImg, addOn);
            observer.Iteration(new IterationMetrics(it, matchValue + termValue, matchValue, termValue, grad.norm().Value(),
                EvalProtocol.DefaultLearningRate, -1, -1, clock.Elapsed.TotalSeconds, Skipped: !stepped,
                AddOnSplit.Diagnostics(addOn, readings)), state);
        }
    }

    internal static Tensor Flat(IReadOnlyList<Tensor> parameters) => FlatParameters.Flatten(parameters).detach();

    /// <summary>Per-class means of embeddings laid out class by class, <paramref name="perClass"/> rows each.</summary>
    public static Tensor ClassMeans(Tensor embeddings, int perClass, int classes) =>
        embeddings.reshape(classes, perClass, -1).mean(new long[] { 1 });
}

/// <summary>DM on one dataset as an <see cref="IDistillMethod"/>.</summary>
public sealed class DmMethod(DataSplit data, DmOptions options, MimOptions mim, int mimRealPerClass, object? machine = null,
    string arch = DistillMethods.DefaultArch)
    : ExpertFreeMethod("dm", data, options, options.BatchReal, mim, mimRealPerClass, options with { Iterations = 0 }, machine, arch)
{
    public override DistillState Initialize() => Dm.Initialize(Data.Train, Train, options);
    public override void Run(DistillState state, IDistillObserver observer, CancellationToken stop) =>
        Dm.Run(Net, Data.Train, Train, state, options, Data.Name, observer, AddOn, stop);
}
