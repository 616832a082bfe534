using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

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

/// <summary>Where an SGD training stands between epochs, what it needs to continue to the same bytes besides the weights and
/// the generator: the epochs done and the momentum buffers (null before the first step and after the decay).</summary>
public sealed class SgdState(int parameterCount) : IDisposable
{
    public int EpochsDone { get; set; }
    public Tensor?[] Velocity { get; } = new Tensor?[parameterCount];

    public void ClearVelocity()
    {
        foreach (var v in Velocity) v?.Dispose();
        Array.Clear(Velocity);
    }

    public void Dispose() => ClearVelocity();
}

/// <summary>Trains a functional network on any (images, labels) set, hard or soft labels (<see cref="Targets"/>), and measures
/// accuracy.</summary>
public static class Trainer
{
    /// <summary>Called after each epoch with (epoch index, mean training loss).</summary>
    public delegate void EpochDone(int epoch, double loss);

    /// <param name="progressTask">Reported to <see cref="LiveProgress"/> after every batch, in epochs, under this name.</param>
    /// <param name="state">Continue from here (epochs done, momentum) and keep it up to date; null: start afresh.</param>
    public static void Train(Net net, NetWeights weights, Tensor images, Tensor labels, TrainOptions options,
        Generator generator, IAugment? augment = null, EpochDone? onEpoch = null, string? progressTask = null, SgdState? state = null)
    {
        bool own = state is null;
        state ??= new SgdState(weights.Parameters.Count);
        try { TrainEpochs(net, weights, images, labels, options, generator, augment, onEpoch, progressTask, state); }
        finally { if (own) state.Dispose(); }
    }

    private static void TrainEpochs(Net net, NetWeights weights, Tensor images, Tensor labels, TrainOptions options,
        Generator generator, IAugment? augment, EpochDone? onEpoch, string? progressTask, SgdState state)
    {
        var parameters = weights.Parameters;
        var velocity = state.Velocity;
        bool decayed = options.DecayAfterEpoch >= 0 && state.EpochsDone > options.DecayAfterEpoch;
        double lr = decayed ? options.LearningRate * 0.1 : options.LearningRate;
        long n = images.shape[0];
        for (int epoch = state.EpochsDone; epoch < options.Epochs; epoch++)
        {
            double lossSum = 0;
            int batches = 0;
            using (var epochScope = NewDisposeScope())
            {
                var order = n <= options.BatchSize ? null : randperm(n, generator: generator);
                for (long start = 0; start < n; start += options.BatchSize)
                {
                    using var scope = NewDisposeScope();
                    Tensor x, y;
                    if (order is null) { x = images; y = labels; }
                    else
                    {
                        var idx = order.narrow(0, start, Math.Min(options.BatchSize, n - start));
                        x = images.index_select(0, idx);
                        y = labels.index_select(0, idx);
                    }
                    if (augment is not null) x = augment.Apply(x, generator);
                    var loss = Targets.Loss(net.Forward(parameters, x, true, weights.Buffers), y);
                    var grads = autograd.grad(new[] { loss }, parameters);
                    using (no_grad()) SgdStep(parameters, grads, velocity, lr, options.Momentum, options.WeightDecay);
                    lossSum += loss.Value();   // float32 or float64 training
                    batches++;
                    if (progressTask is not null) LiveProgress.Report(progressTask,
                        epoch + Math.Min(1.0, (start + options.BatchSize) / (double)n), options.Epochs);
                }
            }
            if (epoch == options.DecayAfterEpoch)
            {
                lr *= 0.1;
                state.ClearVelocity();   // the reference re-creates the optimiser here
            }
            // Counted before the callback, so that a state saved there continues with the next epoch.
            state.EpochsDone = epoch + 1;
            onEpoch?.Invoke(epoch, lossSum / batches);
        }
    }

    /// <summary>PyTorch's SGD: d = g + wd·p; v = m·v + d (v = d at the first step); p −= lr·v.</summary>
    private static void SgdStep(IList<Tensor> parameters, IList<Tensor> grads, Tensor?[] velocity,
        double lr, double momentum, double weightDecay)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var d = weightDecay != 0 ? grads[i].Plus(parameters[i], weightDecay) : grads[i];
            if (momentum != 0)
            {
                if (velocity[i] is null) velocity[i] = d.detach().clone().DetachFromDisposeScope();
                else velocity[i]!.TimesInPlace(momentum).PlusInPlace(d);
                d = velocity[i]!;
            }
            parameters[i].PlusInPlace(d, -lr);
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
