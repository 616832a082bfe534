using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Distill;

/// <summary>
/// The MIM4DD term (spec/mim4dd.md §2.2–2.4): per feature layer k, synthetic features go through a head
/// g_S^k and real features through a head g_T^k (Linear then L2-normalise); every (synthetic, real) pair
/// is scored s/τ with s the cosine similarity; pairs with the same label are positives, the rest negatives.
/// <para>
/// <see cref="MimCritic.SupCon"/>: L_MIM = Σ_k −(1/A) Σ_i (1/|P_i|) Σ_{j∈P_i} log softmax_j(s_i·/τ), the softmax
/// over the real batch, A = synthetic anchors with a positive. <see cref="MimCritic.Bce"/> (default):
/// L_MIM = Σ_k −(1/P) [Σ_pos log σ(s/τ) + Σ_neg log(1 − σ(s/τ))], CRD's NCE critic h = e^{s/τ} / (e^{s/τ} + N/M)
/// with negatives from the current batch (M = N, so h = σ(s/τ)), P = number of positive pairs.
/// </para>
/// <para>
/// Contract for λ = 0 (<see cref="MimOptions.Enabled"/> false): callers build no <see cref="Mim"/>, draw no
/// real batch for it, and call neither <see cref="Loss"/> nor <see cref="StepHeads"/>. Adding 0·L_MIM is not
/// enough: the extra forward passes and random draws would shift the base method's random streams, and
/// 0·∞ gradients would turn into NaN. Skipping keeps the base method bit-identical.
/// </para>
/// <para>
/// <see cref="Loss"/> returns the unweighted L_MIM; the caller forms L_DD + λ·L_MIM and back-propagates it
/// to its own variables and to <see cref="HeadParameters"/>, so the heads train on the same total loss as
/// in CRD (spec §3). Real features are used as given: detach them if their network must stay frozen.
/// </para>
/// </summary>
public sealed class Mim : IDisposable
{
    private const double HeadMomentum = 0.5;
    private const int TensorsPerLayer = 4;   // synthetic weight, synthetic bias, real weight, real bias

    private readonly List<Tensor> heads = new();
    private readonly Tensor?[] velocity;
    private readonly long[] sizes;

    /// <param name="layers">Every feature tap of the network with its flattened size C·H·W (see <see cref="LayerSizes"/>);
    /// <see cref="MimOptions.Layers"/> selects among them.</param>
    /// <param name="generator">Draws the heads, as PyTorch's Linear does: U(±1/√fan_in) for weight and bias.</param>
    public Mim(IReadOnlyList<(string Name, long Size)> layers, MimOptions options, Generator generator,
        ScalarType dtype = ScalarType.Float32)
    {
        options.Validate();
        Options = options;
        var chosen = Choose(layers, options.Layers);
        Layers = chosen.Select(l => l.Name).ToArray();
        sizes = chosen.Select(l => l.Size).ToArray();
        foreach (var size in sizes)
            for (int side = 0; side < 2; side++)
            {
                heads.Add(FanInUniform(new long[] { options.HeadDim, size }, size, dtype, generator));
                heads.Add(FanInUniform(new long[] { options.HeadDim }, size, dtype, generator));
            }
        velocity = new Tensor?[heads.Count];
    }

    public MimOptions Options { get; }

    /// <summary>The heads' optimiser state (null until the first step), for checkpoints.</summary>
    public IReadOnlyList<Tensor?> HeadVelocity => velocity;

    /// <summary>Restores heads and optimiser state from a checkpoint (same order as <see cref="HeadParameters"/>).</summary>
    public void Restore(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor?> velocities)
    {
        if (parameters.Count != heads.Count || velocities.Count != heads.Count)
            throw new ArgumentException($"checkpoint holds {parameters.Count} head tensors, this MIM has {heads.Count}");
        using var noGrad = no_grad();
        for (int i = 0; i < heads.Count; i++)
        {
            heads[i].copy_(parameters[i]);
            velocity[i]?.Dispose();
            velocity[i] = velocities[i]?.detach().clone();
        }
    }

    /// <summary>Names of the contrasted feature taps, in the order <see cref="Loss"/> expects features.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>Per layer: synthetic-side weight [HeadDim, C·H·W] and bias, then real-side weight and bias. Leaves with requires_grad.</summary>
    public IReadOnlyList<Tensor> HeadParameters => heads;

    /// <summary>Flattened size C·H·W of every feature tap of <paramref name="net"/>, from one forward pass on a single blank input.</summary>
    public static IReadOnlyList<(string Name, long Size)> LayerSizes(Net net, IReadOnlyList<Tensor> parameters, InputShape input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var dtype = parameters[0].dtype;
        var device = parameters[0].device;
        // Batch-norm statistics only change values, not shapes: stand-ins let a bare parameter list reach every tap.
        var buffers = net.Buffers
            .Select(b => b.Init == InitKind.Ones ? ones(b.Shape, dtype, device) : zeros(b.Shape, dtype, device))
            .ToList();
        var tap = new FeatureTap();
        const int batch = Net.ProbeBatch;
        net.Forward(parameters, zeros(new long[] { batch, input.Channels, input.Height, input.Width }, dtype, device),
            training: false, buffers, tap);
        return tap.Features.Select(f => (f.Name, f.Value.numel() / batch)).ToList();
    }

    /// <summary>The features of <see cref="Layers"/> from a tap filled by one forward pass, in order.</summary>
    public IReadOnlyList<Tensor> FeaturesOf(FeatureTap tap) => Layers.Select(name =>
    {
        var matches = tap.Features.Where(f => f.Name == name).ToList();
        return matches.Count == 1 ? matches[0].Value
            : throw new ArgumentException($"the tap holds {matches.Count} features named '{name}'; expected exactly one (one forward pass per tap)");
    }).ToList();

    /// <summary>Positive-pair mask: true where a synthetic and a real sample share a label. Bool [nSyn, nReal].</summary>
    public static Tensor PositiveMask(Tensor synLabels, Tensor realLabels) =>
        synLabels.unsqueeze(1).eq(realLabels.unsqueeze(0));

    /// <summary>
    /// L_MIM summed over <see cref="Layers"/> (unweighted by λ). <paramref name="synFeatures"/> and
    /// <paramref name="realFeatures"/> hold one tensor per layer, [n, ...] with n the batch's label count.
    /// </summary>
    public Tensor Loss(IReadOnlyList<Tensor> synFeatures, Tensor synLabels, IReadOnlyList<Tensor> realFeatures, Tensor realLabels)
    {
        CheckBatch(synFeatures, synLabels, "synthetic");
        CheckBatch(realFeatures, realLabels, "real");
        using var scope = NewDisposeScope();
        var positives = PositiveMask(synLabels, realLabels);              // [nSyn, nReal]
        long positiveCount = positives.sum().item<long>();
        if (positiveCount == 0)
            throw UserError.At("MIM loss", "no synthetic sample in the batch shares a label with a real one, so there is no positive pair",
                "draw the real batch from the classes of the synthetic batch (positives are same-label pairs)");
        var targets = positives.to_type(heads[0].dtype);
        Tensor? total = null;
        for (int k = 0; k < Layers.Count; k++)
        {
            var synEmbedding = Embed(synFeatures[k], k, side: 0);          // [nSyn, HeadDim], unit rows
            var realEmbedding = Embed(realFeatures[k], k, side: 1);        // [nReal, HeadDim], unit rows
            var scores = synEmbedding.mm(realEmbedding.t()).div(Options.Temperature);
            var layerLoss = Options.Critic == MimCritic.SupCon ? SupCon(scores, targets) : Bce(scores, targets, positiveCount);
            total = total is null ? layerLoss : total.add(layerLoss);
        }
        return total!.MoveToOuterDisposeScope();
    }

    private static Tensor SupCon(Tensor scores, Tensor targets)
    {
        var logSoftmax = F.log_softmax(scores, 1);
        var positivesPerAnchor = targets.sum(new long[] { 1 });
        var anchors = positivesPerAnchor.gt(0);
        var perAnchor = logSoftmax.mul(targets).sum(new long[] { 1 }).div(positivesPerAnchor.clamp_min(1));
        return perAnchor.masked_select(anchors).mean().neg();
    }

    // Targets 1 on positives and 0 on negatives sum −log σ(x) and −log(1 − σ(x)) = −log σ(−x), evaluated
    // through softplus so that large |s/τ| neither overflows nor loses the gradient.
    private static Tensor Bce(Tensor scores, Tensor targets, long positiveCount) =>
        F.binary_cross_entropy_with_logits(scores, targets, reduction: nn.Reduction.Sum).div(positiveCount);

    /// <summary>
    /// One SGD step (momentum 0.5, PyTorch's rule: v = g at the first step, then v = 0.5·v + g; p −= lr·v)
    /// on <see cref="HeadParameters"/> with <paramref name="gradients"/> in the same order.
    /// </summary>
    public void StepHeads(IReadOnlyList<Tensor> gradients)
    {
        if (gradients.Count != heads.Count)
            throw new ArgumentException($"got {gradients.Count} head gradients for {heads.Count} head parameters");
        using var noGrad = no_grad();
        for (int i = 0; i < heads.Count; i++)
        {
            if (velocity[i] is null) velocity[i] = gradients[i].detach().clone().DetachFromDisposeScope();
            else velocity[i]!.mul_(HeadMomentum).add_(gradients[i]);
            heads[i].add_(velocity[i]!, alpha: -Options.HeadLearningRate);
        }
    }

    public void Dispose()
    {
        foreach (var t in heads) t.Dispose();
        foreach (var t in velocity) t?.Dispose();
    }

    private Tensor Embed(Tensor features, int layer, int side)
    {
        int first = TensorsPerLayer * layer + 2 * side;
        var flat = features.reshape(features.shape[0], -1);                 // [n, C·H·W]
        return F.normalize(F.linear(flat, heads[first], heads[first + 1]), p: 2, dim: 1);
    }

    private void CheckBatch(IReadOnlyList<Tensor> features, Tensor labels, string side)
    {
        if (features.Count != Layers.Count)
            throw new ArgumentException($"got {features.Count} {side} feature tensors for {Layers.Count} MIM layers ({string.Join(", ", Layers)})");
        if (labels.dim() != 1)
            throw new ArgumentException($"{side} labels must be 1-D, got shape [{string.Join(", ", labels.shape)}]");
        for (int k = 0; k < Layers.Count; k++)
        {
            var f = features[k];
            if (f.dim() < 1 || f.shape[0] != labels.shape[0])
                throw new ArgumentException($"{side} features of {Layers[k]} have batch size {(f.dim() < 1 ? 0 : f.shape[0])} but there are {labels.shape[0]} {side} labels");
            if (f.dtype != heads[0].dtype)
                throw new ArgumentException($"{side} features of {Layers[k]} are {f.dtype} but the heads are {heads[0].dtype}");
            long size = f.numel() / Math.Max(1, f.shape[0]);
            if (size != sizes[k])
                throw new ArgumentException($"{side} features of {Layers[k]} have {size} values per sample but its head expects {sizes[k]}");
        }
    }

    private static List<(string Name, long Size)> Choose(IReadOnlyList<(string Name, long Size)> layers, IReadOnlyList<string>? names)
    {
        var available = string.Join(", ", layers.Select(l => l.Name));
        if (layers.Count == 0)
            throw UserError.At("--mim-layers", "the network records no feature taps", "use a network with taps, such as ConvNet");
        foreach (var (name, size) in layers)
            if (size < 1) throw new ArgumentException($"layer {name} has size {size}; sizes are C·H·W ≥ 1");
        if (names is null) return layers.ToList();
        if (names.Distinct().Count() != names.Count)
            throw UserError.At("--mim-layers", $"names a layer twice ({string.Join(", ", names)})", "name each tap once");
        return names.Select(name =>
        {
            var index = layers.Select(l => l.Name).ToList().IndexOf(name);
            return index >= 0 ? layers[index]
                : throw UserError.At("--mim-layers", $"'{name}' is not a feature tap of this network", $"choose from {available}");
        }).ToList();
    }

    private static Tensor FanInUniform(long[] shape, long fanIn, ScalarType dtype, Generator generator)
    {
        double bound = 1 / Math.Sqrt(fanIn);
        return rand(shape, dtype, generator: generator).mul_(2 * bound).sub_(bound).DetachFromDisposeScope().requires_grad_();
    }
}
