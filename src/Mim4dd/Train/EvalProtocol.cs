using System.Diagnostics;
using Mim4dd.Augment;
using Mim4dd.Nets;
using Mim4dd.Runtime;
using static TorchSharp.torch;

namespace Mim4dd.Train;

/// <summary>Accuracies of R evaluation trainings with their mean ± std (population std, as numpy's default in the papers' code);
/// <paramref name="Seconds"/> sums the nets' training and test times, also of nets an earlier, killed run finished.</summary>
public sealed record EvalResult(string Arch, double[] Accuracies, double Seconds)
{
    public double Mean => Accuracies.Average();
    public double Std => Math.Sqrt(Accuracies.Select(a => (a - Mean) * (a - Mean)).Average());
    public override string ToString() => $"{100 * Mean:F2} ± {100 * Std:F2}";
}

/// <summary>One evaluation net's test accuracy and the seconds it took to train and test.</summary>
public sealed record FinishedNet(double Accuracy, double Seconds);

/// <summary>
/// The papers' evaluation protocol (DC, DSA, DM and MTT alike): R fresh networks, each trained on the
/// (synthetic) set with SGD(momentum 0.9, wd 5e-4) for E+1 epochs with lr ×0.1 after epoch E/2+1,
/// then tested once on the whole real test set.
/// </summary>
public sealed record EvalProtocol
{
    /// <summary>The protocol's lr for sets that carry none (coresets, DC/DSA/DM, which learn no lr).</summary>
    public const double DefaultLearningRate = 0.01;

    public int Repeats { get; init; } = 5;
    public int Epochs { get; init; } = 1000;
    public double LearningRate { get; init; } = DefaultLearningRate;
    public int BatchSize { get; init; } = 256;

    /// <summary>Augmentation while training each evaluation net (the papers: DSA for DSA/DM/MTT, none for DC without MNIST).</summary>
    public IAugment? Augment { get; init; }

    /// <summary>Called after each repeat with its index, result and the mean training loss of its last epoch: a loss
    /// that stayed high says the net did not fit the set (e.g. an lr too large for that architecture), not that the set is poor.</summary>
    public delegate void RepeatDone(int repeat, FinishedNet net, double trainLoss);

    /// <param name="inspectFirst">Sees the first trained network before it is disposed (the report's t-SNE).</param>
    /// <param name="finished">Repeats a killed run already finished: each repeat has its own seeds, so
    /// they are taken as they are and not trained again (nor inspected).</param>
    /// <param name="stop">Checked before every net and after every epoch: a stop request ends the evaluation within one epoch by
    /// <see cref="OperationCanceledException"/> (the net in training is lost, finished ones were reported).</param>
    public EvalResult Run(string arch, Tensor images, Tensor labels, Tensor testImages, Tensor testLabels,
        int numClasses, long seed, RepeatDone? onRepeat = null, Action<Net, NetWeights>? inspectFirst = null,
        IReadOnlyDictionary<int, FinishedNet>? finished = null, CancellationToken stop = default)
    {
        OptionRange.AtLeast("--repeats", Repeats, 1, "pass --repeats 5 (the papers' value)");
        var input = new InputShape(images.shape[1], images.shape[2], images.shape[3]);
        var net = NetRegistry.Build(arch, input, numClasses);
        var options = TrainOptions.Protocol(Epochs, LearningRate) with { BatchSize = BatchSize };
        var accuracies = new double[Repeats];
        double seconds = 0;
        using var x = images.detach().clone();
        using var y = labels.detach().clone();
        for (int r = 0; r < Repeats; r++)
        {
            if (finished?.TryGetValue(r, out var known) == true) { accuracies[r] = known.Accuracy; seconds += known.Seconds; continue; }
            stop.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            using var weights = net.Initialize(Rng.Torch(seed, 1000 + r));
            double trainLoss = double.NaN;
            Trainer.Train(net, weights, x, y, options, Rng.Torch(seed, 2000 + r), Augment,
                (_, loss) => { trainLoss = loss; stop.ThrowIfCancellationRequested(); },
                progressTask: $"evaluation: {arch} {r + 1}/{Repeats}");
            accuracies[r] = Trainer.Accuracy(net, weights, testImages, testLabels);
            var done = new FinishedNet(accuracies[r], clock.Elapsed.TotalSeconds);
            seconds += done.Seconds;
            if (r == 0) inspectFirst?.Invoke(net, weights);
            onRepeat?.Invoke(r, done, trainLoss);
        }
        return new EvalResult(arch, accuracies, seconds);
    }
}
