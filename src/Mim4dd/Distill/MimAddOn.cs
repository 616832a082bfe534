using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runs;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>A loss term added to a trajectory-matching iteration, evaluated on the final student θ_N.</summary>
public interface IAddOn
{
    /// <summary>λ·L for iteration <paramref name="iteration"/>; <paramref name="target"/> is the expert's θ*_{t+M}.</summary>
    Tensor Loss(Tensor final, Tensor target, Tensor synImages, Tensor synLabels, int iteration);

    /// <summary>Records the add-on's own parameters in the state at the end of an iteration (also a skipped one).</summary>
    void Step(DistillState state);

    /// <summary>What the add-on measured at its last call, as metrics.jsonl keys.</summary>
    IReadOnlyDictionary<string, double> Diagnostics { get; }

    /// <summary>Iterations at the start in which the term's gradient does not reach the images.</summary>
    int WarmupIterations { get; }

    /// <summary>Whether iteration <paramref name="iteration"/> splits the image gradient into the method's and the
    /// add-on's parts (an extra pass, for the diagnostics and the balance).</summary>
    bool ChecksGradient(int iteration);

    /// <summary>Told the norms of this iteration's matching and add-on image gradients, returns the factor the add-on's
    /// part is to be scaled by now (and its weight from now on); 1 when the weight is fixed.</summary>
    double Rebalance(double matchNorm, double termNorm);
}

/// <summary>
/// MIM4DD on a host method (docs/methods.md): real images (n_r per class) go through the network at the target
/// (MTT: the expert's θ*_{t+M}, frozen), the synthetic set through the final student θ_N; both batches get the same
/// siamese DSA transform. Each call first trains the heads on the detached features, then returns λ·L_MIM for the images
/// (and, with --mim-bank, keeps the real batch's embeddings in the memory).
/// </summary>
public sealed class MimAddOn : IAddOn, IDisposable
{
    private const string StatePrefix = "mim.";
    private readonly Net net;
    private readonly Mim mim;
    private readonly MimOptions options;   // the estimator's part configures mim; the weighting (λ, warm-up, balance) is the add-on's
    private readonly Dataset train;
    private readonly Tensor trainImages;
    private readonly int realPerClass;
    private readonly long seed;
    private readonly Dsa augment;

    public MimAddOn(Net net, Tensor someParameters, Dataset train, Tensor trainImages, MimOptions options, int realPerClass, long seed,
        string dataset)
    {
        if (realPerClass < 1) throw UserError.At("--batch-real", $"must be at least 1 per class, got {realPerClass}",
            "pass e.g. --batch-real 32");
        long fewest = train.ClassCounts().Min();
        if (realPerClass > fewest)
            throw UserError.At("--batch-real", $"MIM draws {realPerClass} real images per class but the smallest class has {fewest}",
                $"pass --batch-real {fewest} or less");
        this.net = net;
        this.train = train;
        this.trainImages = trainImages;
        this.realPerClass = realPerClass;
        this.seed = seed;
        this.options = options;
        augment = new Dsa(Dsa.StrategyFor(dataset));
        var input = new InputShape(trainImages.shape[1], trainImages.shape[2], trainImages.shape[3]);
        var shapes = Mim.LayerShapes(net, FlatParameters.Unflatten(someParameters, net), input);
        mim = new Mim(shapes, options.Estimator, Rng.Torch(seed, 900_000), classes: train.NumClasses);
        Weight = options.Lambda;
    }

    /// <summary>λ now: --lambda, or with --mim-balance the value the last gradient check set.</summary>
    public double Weight { get; private set; }

    /// <summary>Per layer: loss, MI bound and retrieval of the last call, as metrics.jsonl keys.</summary>
    public IReadOnlyDictionary<string, double> Diagnostics =>
        mim.Readings.SelectMany(r => new[]
        {
            KeyValuePair.Create($"mim_loss.{r.Layer}", r.Loss),
            KeyValuePair.Create($"mi_bound.{r.Layer}", r.Bound),
            KeyValuePair.Create($"retrieval.{r.Layer}", r.Retrieval),
        }).Append(KeyValuePair.Create("lambda", Weight)).ToDictionary();

    public int WarmupIterations => options.WarmupIterations;

    /// <summary>Every --mim-grad-every iterations once the term reaches the images, counted from the first such
    /// iteration, so a balanced λ is set before the term's first image step.</summary>
    public bool ChecksGradient(int iteration)
    {
        int every = options.GradientCheckEvery;
        return every > 0 && iteration >= WarmupIterations && (iteration - WarmupIterations) % every == 0;
    }

    /// <summary>With --mim-balance ρ: λ ← λ·ρ·|g_DD| / |λ·g_MIM|, so that the term's gradient is ρ times matching's.</summary>
    public double Rebalance(double matchNorm, double termNorm)
    {
        if (!(options.Balance > 0 && matchNorm > 0 && termNorm > 0 && double.IsFinite(matchNorm / termNorm))) return 1;
        double factor = options.Balance * matchNorm / termNorm;
        Weight *= factor;
        return factor;
    }

    /// <summary>
    /// The add-on for a method without experts (BPTT, DM, DC/DSA), whose features come from the networks it already
    /// runs; null when λ = 0, so the method stays bit-identical. The heads are sized on a probe initialisation.
    /// </summary>
    public static MimAddOn? ForFreshNetworks(Net net, DataSplit data, Tensor trainImages, MimOptions options, int realPerClass, long seed)
    {
        if (!options.Enabled) return null;
        using var probe = net.Initialize(Rng.Torch(seed, 3));
        using var flat = FlatParameters.Flatten(probe.Parameters).detach();
        // MIM's own real batch (the method's --batch-real means something else): as many as the smallest class has.
        int perClass = (int)Math.Min(realPerClass, data.Train.ClassCounts().Min());
        return new MimAddOn(net, flat, data.Train, trainImages, options, perClass, seed, data.Name);
    }

    public Tensor Loss(Tensor final, Tensor target, Tensor synImages, Tensor synLabels, int iteration)
    {
        var (realImages, realLabels, realIndices) = RealBatch(iteration);
        long siameseSeed = (long)Rng.Mix(seed, 800_000 + iteration);
        var realTap = new FeatureTap();
        using (no_grad())
            net.Forward(FlatParameters.Unflatten(target, net), augment.ApplySiamese(realImages, siameseSeed), tap: realTap);
        (synImages, synLabels) = SynBatch(synImages, synLabels, iteration);
        var synTap = new FeatureTap();
        using (iteration < WarmupIterations ? no_grad() : null)   // in the warm-up the heads learn, the images get nothing
            net.Forward(FlatParameters.Unflatten(final, net), augment.ApplySiamese(synImages, siameseSeed), tap: synTap);
        var synFeatures = mim.FeaturesOf(synTap);
        var realFeatures = mim.FeaturesOf(realTap).Select(f => f.detach()).ToList();
        mim.TrainHeads(synFeatures, synLabels, realFeatures, realLabels);
        var loss = mim.Loss(synFeatures, synLabels, realFeatures, realLabels).Times(Weight);
        mim.Remember(realFeatures, realLabels, realIndices);   // after the loss: this batch is scored once, as itself
        return loss;
    }

    /// <summary>The heads stepped inside <see cref="Loss"/>; this only records them (and Adam's state) in the checkpoint.</summary>
    public void Step(DistillState state) => SaveTo(state);

    /// <summary>The whole synthetic set, or --mim-syn-per-class random images of every class drawn from (seed, iteration)
    /// when a class has more; index_select keeps the gradient path to the images.</summary>
    private (Tensor Images, Tensor Labels) SynBatch(Tensor images, Tensor labels, int iteration)
    {
        int perClass = options.SynPerClass ?? MimOptions.DefaultSynPerClass;
        using var counts = labels.bincount(null);
        if (counts.max().item<long>() <= perClass) return (images, labels);
        using var generator = Rng.Torch(seed, 750_000 + iteration);
        using var indices = Coreset.CoresetSelection.AtMostPerClass(labels, perClass, generator);
        return (images.index_select(0, indices), labels.index_select(0, indices));
    }

    /// <summary>n_r random real images of every class, drawn from (seed, iteration).</summary>
    private (Tensor Images, Tensor Labels, Tensor Indices) RealBatch(int iteration)
    {
        var indices = Coreset.CoresetSelection.Random(train, realPerClass, Rng.Torch(seed, 700_000 + iteration));
        return (trainImages.index_select(0, indices), train.Labels.index_select(0, indices), indices);
    }

    /// <summary>Puts heads, Adam state and Z̄ into the checkpoint, so a resumed run continues exactly.</summary>
    public void SaveTo(DistillState state)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, value) in mim.State().Append(("lambda", tensor(Weight))))
        {
            string key = StatePrefix + name;
            if (state.Extra.TryGetValue(key, out var kept) && kept.shape.SequenceEqual(value.shape) && kept.dtype == value.dtype)
                using (no_grad()) kept.copy_(value);
            else
            {
                if (state.Extra.Remove(key, out var old)) old.Dispose();
                state.Extra[key] = value.detach().clone().DetachFromDisposeScope();
            }
        }
    }

    /// <summary>Takes the MIM state back from a checkpoint written by <see cref="SaveTo"/>; a fresh state has none.</summary>
    public void RestoreFrom(DistillState state)
    {
        if (!state.Extra.Keys.Any(k => k.StartsWith(StatePrefix, StringComparison.Ordinal))) return;
        if (!state.Extra.ContainsKey(StatePrefix + "logz"))
            throw UserError.At("checkpoint", "holds MIM heads from an earlier version of the estimator (no Adam state or normaliser)",
                "start the run again without --resume (or in a new --out)");
        mim.Restore(name => state.Extra.GetValueOrDefault(StatePrefix + name));
        // A checkpoint from before --mim-balance has no λ: it ran with the fixed --lambda.
        if (state.Extra.TryGetValue(StatePrefix + "lambda", out var lambda)) Weight = lambda.item<double>();
    }

    public void Dispose() => mim.Dispose();
}
