using Mim4dd.Augment;
using Mim4dd.Data;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Distill;

/// <summary>A loss term added to a trajectory-matching iteration, evaluated on the final student θ_N.</summary>
public interface IAddOn
{
    /// <summary>λ·L for iteration <paramref name="iteration"/>; <paramref name="target"/> is the expert's θ*_{t+M}.</summary>
    Tensor Loss(Tensor final, Tensor target, Tensor synImages, Tensor synLabels, int iteration);

    /// <summary>Updates the add-on's own parameters after the iteration's gradients are taken and records them in the state;
    /// with <paramref name="apply"/> false (a skipped, non-finite iteration) only drops the pending gradients.</summary>
    void Step(DistillState state, bool apply = true);
}

/// <summary>
/// MIM4DD on MTT (spec/mim4dd.md §3–4): real images (n_r per class) go through the expert at θ*_{t+M}
/// (frozen, no gradient), the synthetic set through the final student θ_N; both batches get the same
/// siamese DSA transform; λ·L_MIM over the taps of every conv block. The heads are trained by the same
/// loss with their own SGD.
/// </summary>
public sealed class MimAddOn : IAddOn, IDisposable
{
    private readonly Net net;
    private readonly Mim mim;
    private readonly Dataset train;
    private readonly Tensor trainImages;
    private readonly int realPerClass;
    private readonly long seed;
    private readonly Dsa augment;
    // Reused every iteration, as are the checkpoint copies of the heads (Replace): fresh long-lived allocations
    // each iteration, interleaved with the iteration's temporaries, fragment the heap that mallopt keeps
    // (docs/performance.md: 6.1 → 5.6 GB at iteration 55 of a CIFAR-10 DM IPC 10 + MIM run).
    private Tensor[]? headGradients;
    private bool hasPendingGradients;

    public MimAddOn(Net net, Tensor someParameters, Dataset train, Tensor trainImages, MimOptions options, int realPerClass, long seed, string dataset)
    {
        options.Validate();
        if (realPerClass < 1) throw UserError.At("--batch-real", $"must be at least 1 per class, got {realPerClass}", "pass e.g. --batch-real 32");
        this.net = net;
        this.train = train;
        this.trainImages = trainImages;
        this.realPerClass = realPerClass;
        this.seed = seed;
        augment = new Dsa(Dsa.StrategyFor(dataset));
        var input = new InputShape(trainImages.shape[1], trainImages.shape[2], trainImages.shape[3]);
        var sizes = Mim.LayerSizes(net, FlatParameters.Unflatten(someParameters, net), input);
        mim = new Mim(sizes, options, Rng.Torch(seed, 900_000));
    }

    public Mim Mim => mim;

    /// <summary>
    /// The add-on for a method without experts (BPTT, DM, DC/DSA), whose features come from the networks it already
    /// runs; null when λ = 0, so the method stays bit-identical. The heads are sized on a probe initialisation.
    /// </summary>
    public static MimAddOn? ForFreshNetworks(Net net, DataSplit data, Tensor trainImages, MimOptions options, int realPerClass, long seed)
    {
        if (!options.Enabled) return null;
        using var probe = net.Initialize(Rng.Torch(seed, 3));
        using var flat = FlatParameters.Flatten(probe.Parameters).detach();
        return new MimAddOn(net, flat, data.Train, trainImages, options, realPerClass, seed, data.Name);
    }

    public Tensor Loss(Tensor final, Tensor target, Tensor synImages, Tensor synLabels, int iteration)
    {
        var (realImages, realLabels) = RealBatch(iteration);
        long siameseSeed = (long)Rng.Mix(seed, 800_000 + iteration);
        var realTap = new FeatureTap();
        using (no_grad())
            net.Forward(FlatParameters.Unflatten(target, net), augment.ApplySiamese(realImages, siameseSeed), tap: realTap);
        var synTap = new FeatureTap();
        bool warmingUp = iteration < mim.Options.WarmupIterations;   // heads learn, the images get nothing from the term
        using (warmingUp ? no_grad() : null)
            net.Forward(FlatParameters.Unflatten(final, net), augment.ApplySiamese(synImages, siameseSeed), tap: synTap);
        var loss = mim.Loss(mim.FeaturesOf(synTap), synLabels, mim.FeaturesOf(realTap).Select(f => f.detach()).ToList(), realLabels)
            .mul(mim.Options.Lambda);
        // The heads' gradients are taken now (the graph is kept for the caller) and applied in Step(),
        // after the caller's own backward: stepping them in place earlier would invalidate that graph.
        var gradients = autograd.grad(new[] { loss }, mim.HeadParameters.ToList(), retain_graph: true);
        headGradients ??= gradients.Select(g => zeros_like(g).DetachFromDisposeScope()).ToArray();
        using (no_grad())
            for (int i = 0; i < headGradients.Length; i++) headGradients[i].copy_(gradients[i]);
        hasPendingGradients = true;
        return loss;
    }

    public void Step(DistillState state, bool apply = true)
    {
        if (!hasPendingGradients) return;
        if (apply)
        {
            mim.StepHeads(headGradients!);
            SaveTo(state);
        }
        hasPendingGradients = false;
    }

    /// <summary>n_r random real images of every class, drawn from (seed, iteration).</summary>
    private (Tensor Images, Tensor Labels) RealBatch(int iteration)
    {
        var indices = Coreset.CoresetSelection.Random(train, realPerClass, Rng.Torch(seed, 700_000 + iteration));
        return (trainImages.index_select(0, indices), train.Labels.index_select(0, indices));
    }

    /// <summary>Puts the heads and their momentum into the checkpoint, so a resumed run continues exactly.</summary>
    public void SaveTo(DistillState state)
    {
        for (int i = 0; i < mim.HeadParameters.Count; i++)
        {
            Replace(state, $"mim.head.{i}", mim.HeadParameters[i]);
            if (mim.HeadVelocity[i] is { } v) Replace(state, $"mim.velocity.{i}", v);
        }
    }

    /// <summary>Takes the heads back from a checkpoint written by <see cref="SaveTo"/>; a fresh state has none.</summary>
    public void RestoreFrom(DistillState state)
    {
        int count = mim.HeadParameters.Count;
        if (!state.Extra.ContainsKey("mim.head.0")) return;
        var parameters = Enumerable.Range(0, count).Select(i => state.Extra.TryGetValue($"mim.head.{i}", out var t) ? t
            : throw UserError.At("checkpoint", $"lacks MIM head {i}", "start the run again")).ToList();
        mim.Restore(parameters, Enumerable.Range(0, count).Select(i => state.Extra.GetValueOrDefault($"mim.velocity.{i}")).ToList());
    }

    private static void Replace(DistillState state, string name, Tensor value)
    {
        if (state.Extra.TryGetValue(name, out var kept) && kept.shape.SequenceEqual(value.shape) && kept.dtype == value.dtype)
        {
            using (no_grad()) kept.copy_(value);
            return;
        }
        if (state.Extra.Remove(name, out var old)) old.Dispose();
        state.Extra[name] = value.detach().clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        mim.Dispose();
        foreach (var g in headGradients ?? []) g.Dispose();
    }
}
