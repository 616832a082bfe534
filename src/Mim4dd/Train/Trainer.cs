using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mim4dd.Train;

/// <summary>SGD training settings; defaults are the DC/DSA/DM/MTT evaluation optimiser.</summary>
public sealed record TrainOptions
{
    public int Epochs { get; init; } = 1001;
    public double LearningRate { get; init; } = 0.01;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// 0-based epoch after which lr ×0.1 and the SGD state is re-created (momentum reset), as the
    /// reference evaluation does (<c>ResetMomentumAtDecay</c>); negative = never.
    /// </summary>
    public int DecayAfterEpoch { get; init; } = 501;

    /// <summary>The papers' protocol for E epochs: E+1 passes, decay after epoch E/2+1.</summary>
    public static TrainOptions Protocol(int epochs, double learningRate = 0.01) =>
        new() { Epochs = epochs + 1, DecayAfterEpoch = epochs / 2 + 1, LearningRate = learningRate };
}

/// <summary>Trains a functional network on any (images, labels) set and measures accuracy.</summary>
public static class Trainer
{
    /// <summary>Called after each epoch with (epoch index, mean training loss).</summary>
    public delegate void EpochDone(int epoch, double loss);

    /// <param name="progressTask">Reported to <see cref="LiveProgress"/> after every batch, in epochs, under this name.</param>
    public static void Train(Net net, NetWeights weights, Tensor images, Tensor labels, TrainOptions options,
        Generator generator, IAugment? augment = null, EpochDone? onEpoch = null, string? progressTask = null) =>
        Loop(weights.Parameters, images.shape[0], options, [generator], progressTask, onEpoch, (orders, start) =>
        {
            var (x, y) = Batch(images, labels, orders[0], start, options.BatchSize);
            if (augment is not null) x = augment.Apply(x, generator);
            return F.cross_entropy(net.Forward(weights.Parameters, x, true, weights.Buffers), y);
        });

    /// <summary>
    /// R networks of one architecture trained side by side in one stacked pass (<see cref="Net.ForwardStacked"/>):
    /// <paramref name="stacked"/> holds their tensors along a leading R dimension, and net r draws its batch order and
    /// augmentation from <paramref name="generators"/>[r] in the same sequence as <see cref="Train"/> would, so the
    /// result equals R separate trainings up to rounding, at the cost of one computation with R× larger layers.
    /// </summary>
    public static void TrainStacked(Net net, NetWeights stacked, Tensor images, Tensor labels, TrainOptions options,
        IReadOnlyList<Generator> generators, IAugment? augment = null, string? progressTask = null) =>
        Loop(stacked.Parameters, images.shape[0], options, generators, progressTask, null, (orders, start) =>
        {
            var xs = new Tensor[generators.Count];
            var ys = new Tensor[generators.Count];
            for (int r = 0; r < generators.Count; r++)
            {
                (xs[r], ys[r]) = Batch(images, labels, orders[r], start, options.BatchSize);
                if (augment is not null) xs[r] = augment.Apply(xs[r], generators[r]);
            }
            var logits = net.ForwardStacked(stacked.Parameters, stack(xs), true, stacked.Buffers);
            // The sum of the R nets' mean losses: each net's gradient is its own loss's.
            return F.cross_entropy(logits.reshape(-1, logits.shape[2]), stack(ys).reshape(-1)) * generators.Count;
        });

    /// <summary>A batch's loss from (per-generator batch orders, first index); null orders mean the whole set in order.</summary>
    private delegate Tensor BatchLoss(Tensor?[] orders, long start);

    private static void Loop(List<Tensor> parameters, long n, TrainOptions options, IReadOnlyList<Generator> generators,
        string? progressTask, EpochDone? onEpoch, BatchLoss batchLoss)
    {
        var velocity = new Tensor?[parameters.Count];
        double lr = options.LearningRate;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            double lossSum = 0;
            int batches = 0;
            using (var epochScope = NewDisposeScope())
            {
                var orders = generators.Select(g => n <= options.BatchSize ? null : randperm(n, generator: g)).ToArray();
                for (long start = 0; start < n; start += options.BatchSize)
                {
                    using var scope = NewDisposeScope();
                    var loss = batchLoss(orders, start);
                    var grads = autograd.grad(new[] { loss }, parameters);
                    using (no_grad()) SgdStep(parameters, grads, velocity, lr, options.Momentum, options.WeightDecay);
                    lossSum += loss.ToDouble();
                    batches++;
                    if (progressTask is not null) LiveProgress.Report(progressTask, epoch + Math.Min(1.0, (start + options.BatchSize) / (double)n), options.Epochs);
                }
            }
            onEpoch?.Invoke(epoch, lossSum / batches);
            if (epoch == options.DecayAfterEpoch)
            {
                lr *= 0.1;
                foreach (var v in velocity) v?.Dispose();
                Array.Clear(velocity);   // the reference re-creates the optimiser here
            }
        }
        foreach (var v in velocity) v?.Dispose();
    }

    private static (Tensor X, Tensor Y) Batch(Tensor images, Tensor labels, Tensor? order, long start, int batchSize)
    {
        if (order is null) return (images, labels);
        var idx = order.narrow(0, start, Math.Min(batchSize, images.shape[0] - start));
        return (images.index_select(0, idx), labels.index_select(0, idx));
    }

    /// <summary>PyTorch's SGD: d = g + wd·p; v = m·v + d (v = d at the first step); p −= lr·v.</summary>
    private static void SgdStep(IList<Tensor> parameters, IList<Tensor> grads, Tensor?[] velocity, double lr, double momentum, double weightDecay)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var d = weightDecay != 0 ? grads[i].add(parameters[i], alpha: weightDecay) : grads[i];
            if (momentum != 0)
            {
                if (velocity[i] is null) velocity[i] = d.detach().clone().DetachFromDisposeScope();
                else velocity[i]!.mul_(momentum).add_(d);
                d = velocity[i]!;
            }
            parameters[i].add_(d, alpha: -lr);
        }
    }

    /// <summary>Top-1 accuracy in eval mode (batch-norm uses running statistics), no augmentation.</summary>
    public static double Accuracy(Net net, NetWeights weights, Tensor images, Tensor labels, int batchSize = 500)
    {
        using var noGrad = no_grad();
        long correct = 0, n = images.shape[0];
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long len = Math.Min(batchSize, n - start);
            var logits = net.Forward(weights.Parameters, images.narrow(0, start, len), false, weights.Buffers);
            correct += logits.argmax(1).eq(labels.narrow(0, start, len)).sum().item<long>();
        }
        return n == 0 ? 0 : (double)correct / n;
    }
}
