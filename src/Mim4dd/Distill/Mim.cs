using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Distill;

/// <summary>What the estimator measured on one layer at its last call.</summary>
/// <param name="Loss">L_NCE of the layer (or the SupCon loss).</param>
/// <param name="Bound">The lower bound on I(S;T) in nats the loss implies: ln m − L for the binary critic (at most ln m),
/// ln K − L for SupCon (K real samples; 0 at chance).</param>
/// <param name="Retrieval">Share of synthetic samples whose best-scoring real sample has their label.</param>
public sealed record MimLayerReading(string Layer, double Loss, double Bound, double Retrieval);

/// <summary>
/// The MIM4DD estimator (docs/methods.md): per feature tap k, features of synthetic and real samples are pooled per
/// channel (or flattened) and standardised across their batch, embedded by a head g^k (one per side unless shared)
/// and L2-normalised; every (synthetic, real) pair gets s = cosine similarity, positives share a label.
/// <para>
/// <see cref="MimCritic.Nce"/> follows CRD (Tian et al., ICLR 2020) and CMIM: with m negatives per positive and a
/// normaliser Z̄ = mean e^{s/τ} fixed at the first call, h = e^{s/τ} / (e^{s/τ} + m·Z̄) = σ(s/τ − ln m − ln Z̄) and
/// L^k = −(1/P)[Σ_pos ln h + Σ_neg ln(1 − h)], P positive pairs; I(S;T) ≥ ln m − L^k. Without the prior the loss has a
/// shortcut minimum where every pair scores 1/(m+1) and the images get no class signal.
/// <see cref="MimCritic.SupCon"/> averages, per synthetic anchor, −ln softmax over the real batch at its positives.
/// </para>
/// <para>
/// With a memory (<see cref="MimEstimatorOptions.BankSize"/> per class) the real batch is scored together with real
/// embeddings kept from earlier calls (<see cref="Remember"/>), as CRD draws its negatives from a memory of embeddings,
/// one per training image, updated with momentum when the image comes again: more pairs per call for the same forward
/// passes, a larger m, no gradient through the memory. Ours holds the last BankSize images of each class (a queue).
/// </para>
/// <para>
/// The heads train on the unweighted loss with their own Adam (<see cref="TrainHeads"/>); <see cref="Loss"/> only
/// reads them. With λ = 0 callers build no <see cref="Mim"/> at all, so the host method keeps its bytes.
/// </para>
/// </summary>
public sealed class Mim : IDisposable
{
    private const double Beta1 = 0.9, Beta2 = 0.999, AdamEps = 1e-8, StandardiseEps = 1e-5;

    private readonly List<Tensor> heads = new();
    private readonly int tensorsPerHead;
    private readonly long[] inputSizes;
    private readonly Tensor[] firstMoment, secondMoment;
    private readonly double[] logZ;
    private readonly Tensor[] bank;        // per layer [classes·BankSize, HeadDim]: the memory's embeddings, class c in its c-th ring
    private readonly long[] bankWrites;    // per class: images that entered its ring so far
    private readonly long[] slotImage;     // per slot: the training index of the image it holds, −1 when empty
    private readonly Dictionary<long, long> imageSlot = new();   // the inverse of slotImage
    private int adamSteps;

    /// <param name="layers">Every feature tap of the network with its shape [C, H, W] (see <see cref="LayerShapes"/>);
    /// <see cref="MimEstimatorOptions.Layers"/> selects among them.</param>
    /// <param name="generator">Draws the heads as PyTorch's Linear does: U(±1/√fan_in) for weight and bias.</param>
    /// <param name="classes">Labels are 0 … classes − 1; only a memory needs it.</param>
    public Mim(IReadOnlyList<(string Name, long[] Shape)> layers, MimEstimatorOptions options, Generator generator,
        ScalarType dtype = ScalarType.Float32, int classes = 0)
    {
        options.Validate();
        if (options.BankSize > 0 && classes < 1)
            throw new ArgumentException("a MIM memory (--mim-bank) needs the number of classes");
        Options = options;
        var chosen = Choose(layers, options.Layers);
        Layers = chosen.Select(l => l.Name).ToArray();
        inputSizes = chosen.Select(l => options.Features == MimFeatures.Pooled ? l.Shape[0]
            : l.Shape.Aggregate(1L, (a, b) => a * b)).ToArray();
        tensorsPerHead = options.HeadHidden > 0 ? 4 : 2;
        foreach (var size in inputSizes)
            for (int side = 0; side < Sides; side++)
            {
                long width = options.HeadHidden > 0 ? options.HeadHidden : options.HeadDim;
                AddLinear(size, width, dtype, generator);
                if (options.HeadHidden > 0) AddLinear(width, options.HeadDim, dtype, generator);
            }
        firstMoment = heads.Select(h => zeros_like(h).DetachFromDisposeScope()).ToArray();
        secondMoment = heads.Select(h => zeros_like(h).DetachFromDisposeScope()).ToArray();
        logZ = Enumerable.Repeat(double.NaN, Layers.Count).ToArray();
        bank = Layers.Select(_ => zeros(classes * (long)options.BankSize, options.HeadDim, dtype).DetachFromDisposeScope()).ToArray();
        bankWrites = new long[options.BankSize > 0 ? classes : 0];
        slotImage = Enumerable.Repeat(-1L, classes * options.BankSize).ToArray();
    }

    public MimEstimatorOptions Options { get; }

    /// <summary>Names of the contrasted feature taps, in the order <see cref="Loss"/> expects features.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>Per layer and side (one side if shared): weight [out, in] and bias of each linear layer. Leaves with
    /// requires_grad.</summary>
    public IReadOnlyList<Tensor> HeadParameters => heads;

    /// <summary>The readings of the last <see cref="Loss"/> call, one per layer.</summary>
    public IReadOnlyList<MimLayerReading> Readings { get; private set; } = [];

    private int Sides => Options.SharedHeads ? 1 : 2;

    /// <summary>Shape [C, H, W] of every feature tap of <paramref name="net"/>, from one forward pass on a blank input.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> LayerShapes(Net net, IReadOnlyList<Tensor> parameters, InputShape input)
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
        net.Forward(parameters, zeros(new long[] { Net.ProbeBatch, input.Channels, input.Height, input.Width }, dtype, device),
            training: false, buffers, tap);
        return tap.Features.Select(f => (f.Name, f.Value.shape.Skip(1).DefaultIfEmpty(1).ToArray())).ToList();
    }

    /// <summary>The features of <see cref="Layers"/> from a tap filled by one forward pass, in order.</summary>
    public IReadOnlyList<Tensor> FeaturesOf(FeatureTap tap) => Layers.Select(name =>
    {
        var matches = tap.Features.Where(f => f.Name == name).ToList();
        return matches.Count == 1 ? matches[0].Value
            : throw new ArgumentException($"the tap holds {matches.Count} features named '{name}'; "
                + $"expected exactly one (one forward pass per tap)");
    }).ToList();

    /// <summary>Positive-pair mask: true where a synthetic and a real sample share a label. Bool [nSyn, nReal].</summary>
    public static Tensor PositiveMask(Tensor synLabels, Tensor realLabels) =>
        synLabels.unsqueeze(1).eq(realLabels.unsqueeze(0));

    /// <summary>
    /// L_MIM summed over <see cref="Layers"/> (unweighted by λ); fills <see cref="Readings"/>. Features hold one tensor
    /// per layer, [n, C, H, W] (or [n, d]). The first call fixes each layer's Z̄ from its scores.
    /// </summary>
    public Tensor Loss(IReadOnlyList<Tensor> synFeatures, Tensor synLabels, IReadOnlyList<Tensor> realFeatures, Tensor realLabels)
    {
        CheckBatch(synFeatures, synLabels, "synthetic");
        CheckBatch(realFeatures, realLabels, "real");
        using var scope = NewDisposeScope();
        var (slots, memoryLabels) = MemorySlots();
        var otherLabels = slots is null ? realLabels : cat(new[] { realLabels, memoryLabels! });
        var positives = PositiveMask(synLabels, otherLabels);             // [nSyn, nReal + memory]
        long positiveCount = positives.sum().item<long>();
        long negativeCount = positives.numel() - positiveCount;
        if (positiveCount == 0)
            throw UserError.At("MIM loss", "no synthetic sample in the batch shares a label with a real one, so there is no positive pair",
                "draw the real batch from the classes of the synthetic batch (positives are same-label pairs)");
        var targets = positives.to_type(heads[0].dtype);
        var readings = new List<MimLayerReading>();
        Tensor? total = null;
        for (int k = 0; k < Layers.Count; k++)
        {
            var synEmbedding = Embed(synFeatures[k], k, side: 0);          // [nSyn, HeadDim], unit rows
            var realEmbedding = Embed(realFeatures[k], k, side: Sides - 1); // [nReal, HeadDim], unit rows
            if (slots is not null) realEmbedding = cat(new[] { realEmbedding, bank[k].index_select(0, slots) });
            var scores = synEmbedding.mm(realEmbedding.t()).Over(Options.Temperature);
            Tensor layerLoss;
            double ceiling;   // the bound is ceiling − loss
            if (Options.Critic == MimCritic.SupCon)
            {
                layerLoss = SupCon(scores, targets);
                ceiling = Math.Log(otherLabels.shape[0]);
                if (Options.Symmetric)
                {
                    // The reverse direction's softmax runs over the synthetic batch: its chance level is ln nSyn.
                    layerLoss = layerLoss.Plus(SupCon(scores.t(), targets.t())).Over(2.0);
                    ceiling = (ceiling + Math.Log(synLabels.shape[0])) / 2;
                }
            }
            else
            {
                double m = Math.Max(1, negativeCount) / (double)positiveCount;
                if (double.IsNaN(logZ[k])) logZ[k] = scores.detach().reshape(-1).logsumexp(0).Value() - Math.Log(scores.numel());
                var logits = scores.Minus(Math.Log(m) + logZ[k]);
                layerLoss = F.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.Sum).Over(positiveCount);
                ceiling = Math.Log(m);
            }
            double value = layerLoss.Value();
            readings.Add(new MimLayerReading(Layers[k], value, ceiling - value, Retrieval(scores, synLabels, otherLabels)));
            total = total is null ? layerLoss : total.Plus(layerLoss);
        }
        Readings = readings;
        return total!.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// With a memory: keeps each real sample's embedding (the heads as they are now, no gradient). An image the memory
    /// already holds is updated as CRD does, normalise(μ·old + (1 − μ)·new) (μ = <see cref="MimEstimatorOptions.BankMomentum"/>);
    /// a new one takes the next slot of its class's ring of <see cref="MimEstimatorOptions.BankSize"/>, in place of the
    /// image that has been there longest. <paramref name="imageIndices"/> are the samples' indices in the training set.
    /// </summary>
    public void Remember(IReadOnlyList<Tensor> realFeatures, Tensor realLabels, Tensor imageIndices)
    {
        if (Options.BankSize == 0) return;
        CheckBatch(realFeatures, realLabels, "real");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long size = Options.BankSize;
        // A slot written twice in one call (more samples of a class than its ring holds) takes its writes in passes.
        var passes = new List<List<(long Row, long Slot, bool Update)>>();
        var timesSeen = new Dictionary<long, int>();
        var labels = realLabels.to_type(ScalarType.Int64).data<long>().ToArray();
        var images = imageIndices.to_type(ScalarType.Int64).data<long>().ToArray();
        if (images.Length != labels.Length)
            throw new ArgumentException($"{images.Length} image indices for {labels.Length} real samples");
        for (int row = 0; row < labels.Length; row++)
        {
            long c = labels[row];
            if (c < 0 || c >= bankWrites.Length)
                throw new ArgumentException($"real label {c} is outside 0 … {bankWrites.Length - 1}, the memory's classes");
            bool update = imageSlot.TryGetValue(images[row], out long slot);
            if (!update)
            {
                slot = c * size + bankWrites[c]++ % size;
                if (slotImage[slot] >= 0) imageSlot.Remove(slotImage[slot]);
                slotImage[slot] = images[row];
                imageSlot[images[row]] = slot;
            }
            int pass = timesSeen.GetValueOrDefault(slot);
            timesSeen[slot] = pass + 1;
            if (pass == passes.Count) passes.Add(new());
            passes[pass].Add((row, slot, update));
        }
        for (int k = 0; k < Layers.Count; k++)
        {
            var embedding = Embed(realFeatures[k], k, side: Sides - 1);
            foreach (var writes in passes)
            {
                var slots = tensor(writes.Select(w => w.Slot).ToArray());
                var fresh = embedding.index_select(0, tensor(writes.Select(w => w.Row).ToArray()));
                var old = bank[k].index_select(0, slots);
                var mixed = F.normalize(old.Times(Options.BankMomentum).Plus(fresh, 1 - Options.BankMomentum), p: 2, dim: 1);
                var update = tensor(writes.Select(w => w.Update).ToArray()).unsqueeze(1);
                bank[k].index_copy_(0, slots, where(update, mixed, fresh));
            }
        }
    }

    /// <summary>The memory's written slots and their labels, or nulls when it holds nothing.</summary>
    private (Tensor? Slots, Tensor? Labels) MemorySlots()
    {
        long size = Options.BankSize;
        var slots = Enumerable.Range(0, bankWrites.Length)
            .SelectMany(c => Enumerable.Range(0, (int)Math.Min(bankWrites[c], size)).Select(i => c * size + i)).ToArray();
        return slots.Length == 0 ? (null, null) : (tensor(slots), tensor(slots.Select(s => s / size).ToArray()));
    }

    /// <summary>
    /// <see cref="MimEstimatorOptions.HeadSteps"/> Adam steps of the heads on the unweighted L_MIM of these features, detached:
    /// the heads learn to tell the classes apart while the images stay as they are.
    /// </summary>
    public void TrainHeads(IReadOnlyList<Tensor> synFeatures, Tensor synLabels, IReadOnlyList<Tensor> realFeatures, Tensor realLabels)
    {
        if (Options.HeadLearningRate == 0) return;
        var syn = synFeatures.Select(f => f.detach()).ToList();
        var real = realFeatures.Select(f => f.detach()).ToList();
        for (int step = 0; step < Options.HeadSteps; step++)
        {
            using var scope = NewDisposeScope();
            var loss = Loss(syn, synLabels, real, realLabels);
            if (!double.IsFinite(loss.Value())) return;   // the caller's guard deals with a non-finite iteration
            AdamStep(autograd.grad(new[] { loss }, heads));
        }
    }

    /// <summary>Adam (Kingma and Ba) on the heads, with bias correction, as PyTorch's torch.optim.Adam without weight decay.</summary>
    public void AdamStep(IList<Tensor> gradients)
    {
        if (gradients.Count != heads.Count)
            throw new ArgumentException($"got {gradients.Count} head gradients for {heads.Count} head parameters");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        adamSteps++;
        double correction1 = 1 - Math.Pow(Beta1, adamSteps), correction2 = 1 - Math.Pow(Beta2, adamSteps);
        for (int i = 0; i < heads.Count; i++)
        {
            firstMoment[i].TimesInPlace(Beta1).PlusInPlace(gradients[i], 1 - Beta1);
            secondMoment[i].TimesInPlace(Beta2).AddProductInPlace(gradients[i], gradients[i], 1 - Beta2);
            var denominator = secondMoment[i].Over(correction2).sqrt_().PlusInPlace(AdamEps);
            heads[i].AddQuotientInPlace(firstMoment[i], denominator, -Options.HeadLearningRate / correction1);
        }
    }

    /// <summary>Heads, Adam moments, step count and Z̄ as named tensors, for checkpoints
    /// (<see cref="Restore"/> reads them back).</summary>
    public IEnumerable<(string Name, Tensor Value)> State()
    {
        for (int i = 0; i < heads.Count; i++)
        {
            yield return ($"head.{i}", heads[i]);
            yield return ($"adam.m.{i}", firstMoment[i]);
            yield return ($"adam.v.{i}", secondMoment[i]);
        }
        yield return ("adam.steps", tensor((long)adamSteps));
        yield return ("logz", tensor(logZ));
        if (Options.BankSize == 0) yield break;
        for (int k = 0; k < bank.Length; k++) yield return ($"bank.{k}", bank[k]);
        yield return ("bank.writes", tensor(bankWrites));
        yield return ("bank.images", tensor(slotImage));
    }

    /// <summary>Takes back what <see cref="State"/> gave; <paramref name="find"/> returns null for a missing name.</summary>
    public void Restore(Func<string, Tensor?> find)
    {
        Tensor Need(string name) =>
            find(name) ?? throw UserError.At("checkpoint", $"lacks MIM state '{name}'", "start the run again without --resume");
        using var noGrad = no_grad();
        for (int i = 0; i < heads.Count; i++)
        {
            CopyChecked(heads[i], Need($"head.{i}"), $"head.{i}");
            CopyChecked(firstMoment[i], Need($"adam.m.{i}"), $"adam.m.{i}");
            CopyChecked(secondMoment[i], Need($"adam.v.{i}"), $"adam.v.{i}");
        }
        adamSteps = (int)Need("adam.steps").item<long>();
        var z = Need("logz");
        if (z.numel() != logZ.Length) throw UserError.At("checkpoint", $"holds {z.numel()} MIM normalisers for {logZ.Length} layers",
            "start the run again without --resume");
        for (int k = 0; k < logZ.Length; k++) logZ[k] = z[k].Value();
        // A run resumed with --force and a memory it did not have starts with an empty one.
        if (Options.BankSize == 0 || find("bank.writes") is not { } writes) return;
        for (int k = 0; k < bank.Length; k++) CopyChecked(bank[k], Need($"bank.{k}"), $"bank.{k}");
        var images = Need("bank.images");
        if (writes.numel() != bankWrites.Length || images.numel() != slotImage.Length)
            throw UserError.At("checkpoint", $"holds a MIM memory of {writes.numel()} classes and {images.numel()} slots "
                + $"for {bankWrites.Length} and {slotImage.Length}", "resume with the MIM options the run started with");
        writes.data<long>().ToArray().CopyTo(bankWrites, 0);
        images.data<long>().ToArray().CopyTo(slotImage, 0);
        imageSlot.Clear();
        for (long slot = 0; slot < slotImage.Length; slot++)
            if (slotImage[slot] >= 0) imageSlot[slotImage[slot]] = slot;
    }

    public void Dispose()
    {
        foreach (var t in heads.Concat(firstMoment).Concat(secondMoment).Concat(bank)) t.Dispose();
    }

    private static void CopyChecked(Tensor into, Tensor from, string name)
    {
        if (!into.shape.SequenceEqual(from.shape))
            throw UserError.At("checkpoint", $"MIM state '{name}' is [{string.Join(", ", from.shape)}], "
                + $"this run's is [{string.Join(", ", into.shape)}]",
                "resume with the MIM options the run started with");
        into.copy_(from);
    }

    private static Tensor SupCon(Tensor scores, Tensor targets)
    {
        var logSoftmax = F.log_softmax(scores, 1);
        var positivesPerAnchor = targets.sum(new long[] { 1 });
        var anchors = positivesPerAnchor.GreaterThan(0);
        var perAnchor = logSoftmax.mul(targets).sum(new long[] { 1 }).div(positivesPerAnchor.AtLeast(1));
        return perAnchor.masked_select(anchors).mean().neg();
    }

    private static double Retrieval(Tensor scores, Tensor synLabels, Tensor realLabels)
    {
        using var noGrad = no_grad();
        var nearest = realLabels.index_select(0, scores.argmax(1));
        return nearest.eq(synLabels).to_type(ScalarType.Float64).mean().Value();
    }

    /// <summary>Pool (or flatten), standardise across the batch, head, L2-normalise.</summary>
    private Tensor Embed(Tensor features, int layer, int side)
    {
        var x = Options.Features == MimFeatures.Pooled && features.dim() == 4
            ? features.mean(new long[] { 2, 3 })
            : features.reshape(features.shape[0], -1);
        // Standardised per feature across the batch (BatchNorm without affine, CMIM's centring): after ReLU most of a
        // feature vector's energy is a direction every image shares, which would otherwise dominate every cosine.
        var mean = x.mean(new long[] { 0 }, keepdim: true);
        var variance = x.var(0, unbiased: false, keepdim: true);
        x = x.sub(mean).div(variance.Plus(StandardiseEps).sqrt());
        int first = (layer * Sides + side) * tensorsPerHead;
        x = F.linear(x, heads[first], heads[first + 1]);
        if (tensorsPerHead == 4) x = F.linear(F.relu(x), heads[first + 2], heads[first + 3]);
        return F.normalize(x, p: 2, dim: 1);
    }

    private void AddLinear(long fanIn, long outputs, ScalarType dtype, Generator generator)
    {
        heads.Add(FanInUniform(new[] { outputs, fanIn }, fanIn, dtype, generator));
        heads.Add(FanInUniform(new[] { outputs }, fanIn, dtype, generator));
    }

    private void CheckBatch(IReadOnlyList<Tensor> features, Tensor labels, string side)
    {
        if (features.Count != Layers.Count)
            throw new ArgumentException($"got {features.Count} {side} feature tensors for {Layers.Count} MIM layers "
                + $"({string.Join(", ", Layers)})");
        if (labels.dim() != 1)
            throw new ArgumentException($"{side} labels must be 1-D, got shape [{string.Join(", ", labels.shape)}]");
        for (int k = 0; k < Layers.Count; k++)
        {
            var f = features[k];
            if (f.dim() < 1 || f.shape[0] != labels.shape[0])
                throw new ArgumentException($"{side} features of {Layers[k]} have batch size {(f.dim() < 1 ? 0 : f.shape[0])} "
                    + $"but there are {labels.shape[0]} {side} labels");
            if (f.dtype != heads[0].dtype)
                throw new ArgumentException($"{side} features of {Layers[k]} are {f.dtype} but the heads are {heads[0].dtype}");
            long size = Options.Features == MimFeatures.Pooled && f.dim() == 4 ? f.shape[1] : f.numel() / Math.Max(1, f.shape[0]);
            if (size != inputSizes[k])
                throw new ArgumentException($"{side} features of {Layers[k]} give {size} values per sample "
                    + $"but its head expects {inputSizes[k]}");
        }
    }

    private static List<(string Name, long[] Shape)> Choose(IReadOnlyList<(string Name, long[] Shape)> layers, IReadOnlyList<string>? names)
    {
        var available = string.Join(", ", layers.Select(l => l.Name));
        if (layers.Count == 0)
            throw UserError.At("--mim-layers", "the network records no feature taps", "use a network with taps, such as ConvNet");
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
        return rand(shape, dtype, generator: generator).TimesInPlace(2 * bound).MinusInPlace(bound)
            .DetachFromDisposeScope().requires_grad_();
    }
}
